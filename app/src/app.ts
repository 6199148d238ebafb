/**
 * The application as one Fastify plugin, composed in a visible order:
 * external plugins -> application plugins -> routes. Tests register this same plugin.
 *
 * Adding a feature: put its routes under routes/<area>/index.ts, register them below with a
 * prefix, protect them with `app.authenticate` as an onRequest (or preHandler) hook (then
 * `request.user` is set), use `app.prisma` / `app.redis`, throw the helpers of lib/errors.ts, and
 * give every route request and response schemas (docs/api.md, "Adding routes").
 */
import fastifyCookie from '@fastify/cookie'
import fastifyHelmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import accountRoutes from './features/accounts/accounts-routes.js'
import { fundingWebhookRoutes, treasuryRoutes } from './features/accounts/funding-routes.js'
import idempotencyRetention from './features/accounts/idempotency-retention.js'
import transactionRoutes from './features/accounts/transactions-routes.js'
import auth from './features/auth/plugin.js'
import authRoutes from './features/auth/routes.js'
import gdprRoutes from './features/gdpr/routes.js'
import healthRoutes from './features/health/routes.js'
import meRoutes from './features/me/routes.js'
import notifications from './features/notifications/plugin.js'
import notificationRoutes from './features/notifications/routes.js'
import reports from './features/reports/plugin.js'
import reportRoutes from './features/reports/routes.js'
import searchRoutes from './features/search/routes.js'
import uploadRoutes from './features/uploads/routes.js'
import cache from './platform/cache/plugin.js'
import errors from './platform/errors-plugin.js'
import inputGuard from './platform/input-guard.js'
import prisma from './platform/prisma.js'
import rateLimit from './platform/rate-limit.js'
import redis from './platform/redis.js'
import requestId from './platform/request-id.js'
import storage from './platform/storage/plugin.js'
import swagger from './platform/swagger.js'

/** Options of the application plugin. */
export interface AppOptions {
  config: Config
}

/** Registers every plugin and route of the service. */
async function app(fastify: FastifyInstance, { config }: AppOptions) {
  // External plugins: infrastructure clients and HTTP hardening.
  await fastify.register(errors)
  await fastify.register(requestId)
  await fastify.register(inputGuard)
  await fastify.register(fastifyHelmet, { global: true })
  await fastify.register(fastifyCookie)
  await fastify.register(prisma, { config: config.database })
  await fastify.register(redis, { config: config.redis })
  await fastify.register(rateLimit)
  await fastify.register(swagger, { cookieName: config.session.cookieName })
  await fastify.register(cache)
  await fastify.register(storage, { config: config.s3 })
  await fastify.register(reports)

  // Application plugins.
  await fastify.register(auth, { session: config.session, scryptLogN: config.scryptLogN })
  await fastify.register(notifications, { config: config.notifications, redis: config.redis })
  await fastify.register(idempotencyRetention, {
    retentionHours: config.transactions.idempotencyRetentionHours,
    sweepIntervalMs: config.transactions.idempotencySweepIntervalMs,
  })

  // Routes.
  await fastify.register(healthRoutes, { prefix: '/health', timeoutMs: config.healthTimeoutMs })
  await fastify.register(authRoutes, { prefix: '/v1/auth', rateLimit: config.rateLimit })
  await fastify.register(meRoutes, {
    prefix: '/v1/me',
    preferencesMaxBytes: config.preferencesMaxBytes,
    profileTtlSeconds: config.cache.profileTtlSeconds,
  })
  await fastify.register(accountRoutes, { prefix: '/v1/accounts' })
  await fastify.register(transactionRoutes, {
    prefix: '/v1/transactions',
    maxAttempts: config.transactions.maxAttempts,
  })
  const funding = {
    limits: { maxAmount: config.funding.maxAmount, dailyLimit: config.funding.dailyLimit },
    maxAttempts: config.transactions.maxAttempts,
  }
  // Public: a provider authenticates by signature, not by session. Absent without a secret.
  if (config.funding.webhookSecret) {
    await fastify.register(fundingWebhookRoutes, {
      prefix: '/v1/funding',
      ...funding,
      webhookSecret: config.funding.webhookSecret,
      webhookToleranceSeconds: config.funding.webhookToleranceSeconds,
    })
  }
  await fastify.register(treasuryRoutes, { prefix: '/v1/admin/treasury', ...funding })
  await fastify.register(notificationRoutes, { prefix: '/v1/notifications' })
  await fastify.register(uploadRoutes, { prefix: '/v1/uploads' })
  await fastify.register(searchRoutes, { prefix: '/v1/search' })
  await fastify.register(reportRoutes, { prefix: '/v1', ttlSeconds: config.cache.reportsTtlSeconds })
  await fastify.register(gdprRoutes, { prefix: '/v1/me' })
}

// Not encapsulated: the error handler, hooks and decorators apply to the whole instance.
export default fp(app, { name: 'app', fastify: '5.x' })
