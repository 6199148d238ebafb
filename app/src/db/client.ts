import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'
import { trackPool } from './pool-stats.js'

/** Callbacks on connection trouble, used to notice a failover before the next poll. */
export interface ClientEvents {
  onPoolError?: (err: Error) => void
  onConnectionError?: (err: Error) => void
}

/** Builds a Prisma client over a pg pool whose connect, acquire and query waits are all bounded. */
export function createPrismaClient(
  config: Pick<Config['database'], 'url' | 'poolMax' | 'connectTimeoutMs' | 'queryTimeoutMs'>,
  events: ClientEvents = {},
  role: 'writer' | 'replica' = 'writer',
): PrismaClient {
  // The pool is built here (not by the adapter) so the load shedder can read its wait queue.
  const pool = trackPool(
    new pg.Pool({
      connectionString: config.url,
      max: config.poolMax,
      // Bounds both opening a connection and waiting for a free one in the pool.
      connectionTimeoutMillis: config.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      query_timeout: config.queryTimeoutMs,
      statement_timeout: config.queryTimeoutMs,
      // Tells writer and replica sessions apart in pg_stat_activity.
      application_name: `blueprint-${role}`,
    }),
  )
  const adapter = new PrismaPg(pool, { ...events, disposeExternalPool: true })
  return new PrismaClient({ adapter })
}
