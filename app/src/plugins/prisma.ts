import { PrismaPg } from '@prisma/adapter-pg'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Prisma client of the current writer database. Always go through this decorator. */
    prisma: PrismaClient
  }
}

/** Builds a Prisma client over a pg pool whose connect, acquire and query waits are all bounded. */
export function createPrismaClient(config: Config['database']): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: config.url,
    max: config.poolMax,
    // Bounds both opening a connection and waiting for a free one in the pool.
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    query_timeout: config.queryTimeoutMs,
    statement_timeout: config.queryTimeoutMs,
  })
  return new PrismaClient({ adapter })
}

async function prismaPlugin(app: FastifyInstance, opts: { config: Config['database'] }) {
  const client = createPrismaClient(opts.config)
  // A getter rather than a value, so a later read-replica / DR writer switch can swap the client
  // without any route holding on to a stale one.
  const current = client
  app.decorate('prisma', {
    getter: () => current,
  })
  app.addHook('onClose', async () => {
    await current.$disconnect()
  })
}

export default fp(prismaPlugin, { name: 'prisma', fastify: '5.x' })
