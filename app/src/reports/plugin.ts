import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { cacheNs } from '../cache/plugin.js'
import { recordActivity } from './queries.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Drops the user's cached report summaries; call after a transaction that touches the user commits. */
    invalidateUserReports(userId: string): Promise<void>
  }
}

// Bounds the per-instance memory of "already recorded today"; clearing only costs a few inserts.
const MAX_REMEMBERED = 100_000

/**
 * Report support shared by the whole instance: cache invalidation of user summaries, and the
 * activity record behind daily active users (one insert per user per day per instance, written
 * after the response so it never adds latency).
 */
async function reportsPlugin(app: FastifyInstance) {
  app.decorate('invalidateUserReports', (userId: string) => app.cache.invalidate(cacheNs.reports(userId)))

  const recorded = new Map<string, string>()
  app.addHook('onResponse', async (request, reply) => {
    const user = request.user
    if (!user || reply.statusCode >= 400) return
    const today = new Date().toISOString().slice(0, 10)
    if (recorded.get(user.id) === today) return
    if (recorded.size >= MAX_REMEMBERED) recorded.clear()
    recorded.set(user.id, today)
    try {
      await recordActivity(app.prisma, user.id)
    } catch (err) {
      // Retried on the user's next request: an activity mark is not worth failing anything for.
      recorded.delete(user.id)
      request.log.warn({ err: { message: (err as Error).message } }, 'could not record user activity')
    }
  })
}

export default fp(reportsPlugin, { name: 'reports', fastify: '5.x', dependencies: ['cache', 'prisma'] })
