import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Cache } from './cache.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Cache-aside over Redis that falls back to the loader when Redis is unavailable. */
    cache: Cache
  }
}

/** Namespaces of per-user cached data; a write to the user's data invalidates the matching one. */
export const cacheNs = {
  /**
   * Profile and preferences (GET /v1/me, GET /v1/me/preferences). The user's hash tag puts it in
   * the slot of their sessions, so the session check reads it along (features/auth/plugin.ts).
   */
  profile: (userId: string) => `profile:{${userId}}`,
  /** The user's report summaries. */
  reports: (userId: string) => `reports:${userId}`,
  /** Admin-wide reports. */
  adminReports: 'reports:admin',
}

async function cachePlugin(app: FastifyInstance) {
  app.decorate('cache', new Cache(app.redis, app.log))
}

export default fp(cachePlugin, { name: 'cache', fastify: '5.x', dependencies: ['redis'] })
