/**
 * Records every finished request in the request metrics (duration histogram, error counter)
 * by route template, so a route with ids in its path is one series, not one per id.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { metrics } from './metrics.js'

/** Requests that matched no route share one series (scanners would otherwise mint routes). */
export const UNMATCHED_ROUTE = 'unmatched'

/** Load balancer probes: counted by the load balancer; here they would dilute rates and latency. */
const HEALTH = /^\/health\//

async function httpMetrics(app: FastifyInstance) {
  // Synchronous hooks (done callback) here and in the other per-request plugins: an async hook
  // costs a promise and a microtask turn on every request.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE
    // A Server-Sent Events stream "completes" when the client leaves, minutes later: it is not a
    // request's latency (sse.connections counts the streams).
    if (
      !HEALTH.test(route) &&
      !String(reply.raw.getHeader('content-type') ?? '').startsWith('text/event-stream')
    ) {
      metrics.request(route, request.method, reply.statusCode, reply.elapsedTime / 1000)
    }
    done()
  })
}

export default fp(httpMetrics, { name: 'http-metrics', fastify: '5.x' })
