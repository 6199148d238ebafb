import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { DependencyUnavailableError, tooManyRequests } from './errors.js'

/** One fixed-window limit: at most `max` requests per `windowSeconds` for each key. */
export interface LimitOptions {
  /** Short name that keeps keys of different limits apart (`login-ip`). */
  name: string
  max: number
  windowSeconds: number
  /** The thing being limited: an IP, a normalized email, a user id. */
  key: (request: FastifyRequest) => string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Builds a preHandler enforcing one limit through Redis (shared by every instance); 429 + Retry-After. */
    limit(options: LimitOptions): preHandlerAsyncHookHandler
    /** Deletes the counter of one limit and key (the GDPR erasure forgets per-address counters). */
    forgetLimit(name: string, key: string): Promise<void>
  }
}

/**
 * The Redis key @fastify/rate-limit keeps a `createRateLimit` counter under: its namespace, then the
 * route part it builds from route info (absent here, so the literal "undefinedundefined-"), then
 * our key. app/test/auth/erasure-redis.test.ts fails if a library update changes it.
 */
const counterKey = (name: string, key: string) => `rl:undefinedundefined-${name}:${key}`

async function rateLimitPlugin(app: FastifyInstance) {
  // Counters live in Redis so every instance behind the load balancer shares them. Not global:
  // routes opt in with `preHandler: app.limit(...)`, and may stack several limits.
  await app.register(fastifyRateLimit, {
    global: false,
    redis: app.redis,
    nameSpace: 'rl:',
    skipOnError: false,
  })

  app.decorate('forgetLimit', async (name: string, key: string) => {
    await app.redis.del(counterKey(name, key))
  })

  app.decorate('limit', (options: LimitOptions) => {
    const check = app.createRateLimit({
      max: options.max,
      timeWindow: options.windowSeconds * 1000,
      keyGenerator: (request) => `${options.name}:${options.key(request)}`,
    })
    return async (request: FastifyRequest) => {
      let result: Awaited<ReturnType<typeof check>>
      try {
        result = await check(request)
      } catch (err) {
        throw new DependencyUnavailableError('redis', err)
      }
      if (!result.isAllowed && result.isExceeded) throw tooManyRequests(result.ttlInSeconds)
    }
  })
}

export default fp(rateLimitPlugin, { name: 'rate-limit', fastify: '5.x', dependencies: ['redis'] })
