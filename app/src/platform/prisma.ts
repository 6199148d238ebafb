import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { DatabaseTopology } from '../db/topology.js'
import { writerEndpointReader } from '../db/writer-endpoint.js'
import { followWriter } from '../db/writer-proxy.js'
import type { PrismaClient } from '../generated/prisma/client.js'
import { metrics } from '../telemetry/metrics.js'
import { dependencyOf } from './dependency-errors.js'

export { createPrismaClient } from '../db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Prisma client of the current writer database; follows a writer switch even when stored. */
    prisma: PrismaClient
    /** Writer, read replicas and read-your-writes routing (see db/topology.ts). */
    db: DatabaseTopology
  }
  interface FastifyRequest {
    /**
     * The client for this request's reads: a replica, or the writer for mutating requests, for a
     * user who wrote within the read-your-writes window, and when no replica is healthy.
     */
    reader(): Promise<PrismaClient>
    /** Marks the signed-in user as having written, so their next reads see it. Mutating requests that succeed are marked automatically. */
    markWrite(): Promise<void>
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

async function prismaPlugin(app: FastifyInstance, opts: { config: Config['database'] }) {
  const config = opts.config
  const topology = new DatabaseTopology({
    config,
    log: app.log.child({ component: 'db' }),
    redis: () => (app.hasDecorator('redis') ? app.redis : undefined),
    writerSource: config.writerEndpointSource ? writerEndpointReader(config.writerEndpointSource) : undefined,
    recheckMinIntervalMs: config.writerEndpointSource?.startsWith('ssm:') ? 2000 : 500,
  })
  await topology.start()

  // Always the current writer, even for code that stored `app.prisma` before a switch.
  const writer = followWriter(() => topology.writer)
  app.decorate('prisma', { getter: () => writer })
  app.decorate('db', topology)

  // A write path reads from the writer: read-modify-write on a lagging replica is how money goes
  // missing. So does a request that marked a write explicitly.
  const wrote = new WeakSet<FastifyRequest>()
  app.decorateRequest('reader', async function (this: FastifyRequest) {
    if (wrote.has(this) || MUTATING.has(this.method)) return topology.writer
    return topology.readerFor(this.user?.id)
  })
  app.decorateRequest('markWrite', async function (this: FastifyRequest) {
    wrote.add(this)
    if (this.user) await topology.markWrite(this.user.id)
  })

  // Every successful write path marks its user, so features need not remember to.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.user || !MUTATING.has(request.method) || reply.statusCode >= 400 || wrote.has(request)) {
      return done(null, payload)
    }
    request
      .markWrite()
      .catch((err: Error) => {
        // Without Redis every read goes to the writer anyway (recentlyWrote answers true).
        request.log.warn({ err: { message: err.message } }, 'could not record the read-your-writes marker')
      })
      .then(() => done(null, payload))
  })

  app.addHook('onError', async (_request, _reply, error) => {
    if (dependencyOf(error) === 'postgres') topology.recheckSoon()
  })

  const unobserve = metrics.dbPools(() => topology.poolStats())
  app.addHook('onClose', async () => {
    unobserve()
    await topology.close()
  })
}

export default fp(prismaPlugin, { name: 'prisma', fastify: '5.x' })
