/**
 * The application as one Fastify plugin, composed in a visible order:
 * external plugins -> application plugins -> public routes -> the protected scope. Tests register
 * this same plugin.
 *
 * Adding a feature: put its routes in features/<feature>/, register them below with a prefix,
 * inside the protected scope unless anonymous callers must reach them (there every request is
 * authenticated in onRequest, before its body is parsed, and `request.user` is set; /v1/admin/...
 * needs the admin role), use `app.prisma` / `app.redis`, throw the helpers of platform/errors.ts,
 * and give every route request and response schemas (docs/api.md, "Adding routes").
 */
import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import accountRoutes from './features/accounts/accounts-routes.js'
import { fundingWebhookRoutes, treasuryRoutes } from './features/accounts/funding-routes.js'
import idempotencyRetention from './features/accounts/idempotency-retention.js'
import transactionRoutes from './features/accounts/transactions-routes.js'
import auth from './features/auth/plugin.js'
import { protectedScope } from './features/auth/protected-scope.js'
import authRoutes from './features/auth/routes.js'
import gdprRoutes from './features/gdpr/routes.js'
import healthRoutes from './features/health/routes.js'
import meRoutes from './features/me/routes.js'
import mfa from './features/mfa/plugin.js'
import mfaRoutes from './features/mfa/routes.js'
import notifications from './features/notifications/plugin.js'
import notificationRoutes from './features/notifications/routes.js'
import reports from './features/reports/plugin.js'
import reportRoutes from './features/reports/routes.js'
import searchRoutes from './features/search/routes.js'
import uploadRoutes from './features/uploads/routes.js'
import cache from './platform/cache/plugin.js'
import cors from './platform/cors.js'
import errors from './platform/errors-plugin.js'
import inputGuard from './platform/input-guard.js'
import loadShedding from './platform/load-shedding.js'
import mail from './platform/mail/mailer.js'
import prisma from './platform/prisma.js'
import rateLimit from './platform/rate-limit.js'
import redis from './platform/redis.js'
import requestId from './platform/request-id.js'
import securityHeaders from './platform/security-headers.js'
import storage from './platform/storage/plugin.js'
import swagger from './platform/swagger.js'
import httpMetrics from './telemetry/http-metrics.js'
import unsampledRequests from './telemetry/unsampled-requests.js'

/** Options of the application plugin. */
export interface AppOptions {
  config: Config
}

/** Registers every plugin and route of the service. */
async function app(fastify: FastifyInstance, { config }: AppOptions) {
  // External plugins: infrastructure clients and HTTP hardening.
  await fastify.register(unsampledRequests)
  await fastify.register(httpMetrics)
  await fastify.register(errors)
  await fastify.register(requestId)
  // First after the request id: a shed request costs no parsing, session lookup or query.
  await fastify.register(loadShedding, { config: config.shedding, corsOrigins: config.web.origins })
  // Before parsing: NUL bytes, lone surrogates, deep nesting and non-finite numbers are 400s.
  await fastify.register(inputGuard)
  await fastify.register(securityHeaders)
  await fastify.register(fastifyCookie)
  await fastify.register(cors, {
    origins: config.web.origins,
    csrfOrigins: config.session.allowedOrigins,
    cookieName: config.session.cookieName,
  })
  await fastify.register(prisma, { config: config.database })
  await fastify.register(redis, { config: config.redis })
  await fastify.register(rateLimit)
  await fastify.register(swagger, {
    cookieName: config.session.cookieName,
    ui: config.web.docsUi,
    publicUrl: config.web.publicApiUrl,
  })
  await fastify.register(cache)
  await fastify.register(storage, { config: config.s3 })
  await fastify.register(mail, { config: config.mail })
  await fastify.register(reports)

  // Application plugins.
  await fastify.register(auth, { session: config.session, passwords: config.passwords, redis: config.redis })
  await fastify.register(mfa, {
    config: config.mfa,
    lockout: config.lockout,
    cookieSecure: config.session.cookieSecure,
  })
  await fastify.register(notifications, { config: config.notifications, redis: config.redis })
  await fastify.register(idempotencyRetention, {
    retentionHours: config.transactions.idempotencyRetentionHours,
    sweepIntervalMs: config.transactions.idempotencySweepIntervalMs,
  })

  // Public routes.
  await fastify.register(healthRoutes, { prefix: '/health', timeoutMs: config.healthTimeoutMs })
  await fastify.register(authRoutes, {
    prefix: '/v1/auth',
    rateLimit: config.rateLimit,
    lockout: config.lockout,
    account: config.account,
    mail: config.mail,
    cookieSecure: config.session.cookieSecure,
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

  // The protected scope: authenticated (and, under /v1/admin/, authorised) before any parsing.
  await fastify.register(
    protectedScope(async (scope) => {
      await scope.register(meRoutes, {
        prefix: '/v1/me',
        preferencesMaxBytes: config.preferencesMaxBytes,
        profileTtlSeconds: config.cache.profileTtlSeconds,
        account: config.account,
        mail: config.mail,
      })
      await scope.register(mfaRoutes, { prefix: '/v1/me/mfa', account: config.account, mail: config.mail })
      await scope.register(accountRoutes, { prefix: '/v1/accounts' })
      await scope.register(transactionRoutes, {
        prefix: '/v1/transactions',
        maxAttempts: config.transactions.maxAttempts,
      })
      await scope.register(treasuryRoutes, { prefix: '/v1/admin/treasury', ...funding })
      await scope.register(notificationRoutes, {
        prefix: '/v1/notifications',
        maxStreamsPerUser: config.notifications.maxStreamsPerUser,
      })
      await scope.register(uploadRoutes, { prefix: '/v1/uploads' })
      await scope.register(searchRoutes, { prefix: '/v1/search' })
      await scope.register(reportRoutes, { prefix: '/v1', ttlSeconds: config.cache.reportsTtlSeconds })
      await scope.register(gdprRoutes, { prefix: '/v1/me' })
    }),
  )
}

// Not encapsulated: the error handler, hooks and decorators apply to the whole instance.
export default fp(app, { name: 'app', fastify: '5.x' })
