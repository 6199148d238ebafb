import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { cacheNs } from '../../platform/cache/plugin.js'
import { recordActivity } from './queries.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Drops the user's cached report summaries; call after a transaction that touches the user commits. */
    invalidateUserReports(userId: string): Promise<void>
  }
}

const LOGIN_ROUTE = '/v1/auth/login'

const DAY_MS = 86_400_000

/** The UTC day (YYYY-MM-DD) of `now`; the string is built once a day, not on every request. */
function utcDayOf(): (now: number) => string {
  let day = ''
  let nextDayAt = Number.NEGATIVE_INFINITY
  let dayAt = Number.POSITIVE_INFINITY
  return (now) => {
    // A clock set back is a new day too: the string always matches `now`.
    if (now >= nextDayAt || now < dayAt) {
      dayAt = Math.floor(now / DAY_MS) * DAY_MS
      nextDayAt = dayAt + DAY_MS
      day = new Date(dayAt).toISOString().slice(0, 10)
    }
    return day
  }
}

// Bounds the per-instance memory of "already recorded today"; clearing only costs a few inserts.
const MAX_REMEMBERED = 100_000

/**
 * Report support shared by the whole instance: cache invalidation of user summaries, and the
 * activity record behind daily active users: a successful login or authenticated request marks
 * the user active for the UTC day (one insert per user per day per instance, written after the
 * response so it never adds latency).
 */
async function reportsPlugin(app: FastifyInstance) {
  app.decorate('invalidateUserReports', (userId: string) => app.cache.invalidate(cacheNs.reports(userId)))

  // A login has no session yet (request.user is unset): its user comes from the response body.
  const loggedIn = new WeakMap<FastifyRequest, string>()
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.routeOptions.url === LOGIN_ROUTE && reply.statusCode === 200 && typeof payload === 'string') {
      const id = (JSON.parse(payload) as { user?: { id?: unknown } }).user?.id
      if (typeof id === 'string') loggedIn.set(request, id)
    }
    done(null, payload)
  })

  const recorded = new Map<string, string>()
  const utcDay = utcDayOf()
  // Synchronous: nearly every request returns at the first checks, without a promise.
  app.addHook('onResponse', (request, reply, done) => {
    const userId = request.user?.id ?? loggedIn.get(request)
    if (!userId || reply.statusCode >= 400) return done()
    const today = utcDay(Date.now())
    if (recorded.get(userId) === today) return done()
    if (recorded.size >= MAX_REMEMBERED) recorded.clear()
    recorded.set(userId, today)
    recordActivity(app.prisma, userId)
      .catch((err: Error) => {
        // Retried on the user's next request: an activity mark is not worth failing anything for.
        recorded.delete(userId)
        request.log.warn({ err: { message: err.message } }, 'could not record user activity')
      })
      .finally(() => done())
  })
}

export default fp(reportsPlugin, { name: 'reports', fastify: '5.x', dependencies: ['cache', 'prisma'] })
