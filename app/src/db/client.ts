import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'
import { connectionConfig } from './connection.js'
import { trackPool } from './pool-stats.js'

export { connectionConfig } from './connection.js'

/** Callbacks on connection trouble, used to notice a failover before the next poll. */
export interface ClientEvents {
  onPoolError?: (err: Error) => void
  onConnectionError?: (err: Error) => void
}

/** Builds a Prisma client over a pg pool whose connect, acquire and query waits are all bounded. */
export function createPrismaClient(
  config: Pick<Config['database'], 'url' | 'poolMax' | 'connectTimeoutMs' | 'queryTimeoutMs'> &
    Partial<Pick<Config['database'], 'iamAuth'>>,
  events: ClientEvents = {},
  role: 'writer' | 'replica' = 'writer',
): PrismaClient {
  // Built here (not by the adapter) so metrics and the load shedder can read its counters and wait queue.
  const pool = trackPool(
    new pg.Pool({
      ...connectionConfig(config.url, config.iamAuth ?? false),
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
  // Here, not through the adapter: the adapter listens only once Prisma has run a query, and plain
  // SQL (db/sql.ts) may use the pool first; an idle connection the server drops (a restart) must
  // not be an uncaught error.
  pool.on('error', (err) => events.onPoolError?.(err))
  const adapter = new PrismaPg(pool, {
    onConnectionError: events.onConnectionError,
    disposeExternalPool: true,
  })
  const client = new PrismaClient({ adapter })
  pools.set(client, pool)
  return client
}

const pools = new WeakMap<PrismaClient, pg.Pool>()

/**
 * Disconnects a client and ends its pool. Prisma ends the pool only if it ever ran a query; a pool
 * that only plain SQL used would keep its connections open otherwise.
 */
export async function closeClient(client: PrismaClient): Promise<void> {
  await client.$disconnect()
  const pool = pools.get(client)
  if (pool && !pool.ended) await pool.end()
}

/** The pg pool a client runs on: plain SQL on the hot paths goes through it (db/sql.ts). */
export function poolOf(client: PrismaClient): pg.Pool | undefined {
  return pools.get(client)
}

/** Connections of a client's pool: checked out, waiting for one, and the limit (for metrics). */
export function poolStatsOf(
  client: PrismaClient,
): { used: number; waiting: number; max: number } | undefined {
  const pool = pools.get(client)
  if (!pool) return undefined
  return { used: pool.totalCount - pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 }
}
