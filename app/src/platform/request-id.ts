import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

// Honour a caller's id only if it is short and plain: it ends up in logs and response headers.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Fastify `genReqId`: the incoming `x-request-id` when safe, a fresh UUID otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID()
}

/** Echoes the request id back so clients can quote it. */
async function requestIdPlugin(app: FastifyInstance) {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
}

export default fp(requestIdPlugin, { name: 'request-id', fastify: '5.x' })
