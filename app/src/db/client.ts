import { PrismaPg } from '@prisma/adapter-pg'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'
import { iamPassword } from './iam-auth.js'

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
  const adapter = new PrismaPg(
    {
      connectionString: config.url,
      // IAM authentication: a signed token per new connection instead of a password in the URL.
      ...(config.iamAuth ? { password: iamPassword(config.url) } : {}),
      max: config.poolMax,
      // Bounds both opening a connection and waiting for a free one in the pool.
      connectionTimeoutMillis: config.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      query_timeout: config.queryTimeoutMs,
      statement_timeout: config.queryTimeoutMs,
      // Tells writer and replica sessions apart in pg_stat_activity.
      application_name: `blueprint-${role}`,
    },
    events,
  )
  return new PrismaClient({ adapter })
}
