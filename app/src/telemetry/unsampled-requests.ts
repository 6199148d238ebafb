/**
 * Requests whose trace is not sampled (90% at the default sampling) run with no span in context.
 * The pg, ioredis, HTTP-client and AWS SDK instrumentations do nothing without a parent span
 * (`requireParentSpan`), while under a non-recording one each query and command still built its
 * attributes, a span that records nothing and a context of its own: about half of what tracing
 * cost such a request. Their log lines keep the trace id (log-correlation.ts), so a log search by
 * trace id still finds them.
 *
 * What an unsampled request loses: the W3C context it would pass downstream (with the "not
 * sampled" flag); the service's only outgoing calls are AWS APIs, which do not read it.
 * Without the SDK there is never a span in context and the hook costs one lookup.
 */
import { context, trace } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { withoutSpan } from './log-correlation.js'

async function unsampledRequests(app: FastifyInstance) {
  // Registered first among the service's hooks: Fastify's instrumentation, whose onRequest hook
  // opens the request's span, registers at initialization and so runs before it.
  app.addHook('onRequest', (_request, _reply, done) => {
    const active = context.active()
    const span = trace.getSpan(active)
    if (!span || span.isRecording()) return done()
    // The rest of the request (hooks, handler, the access log) runs in this context.
    context.with(withoutSpan(active, span.spanContext()), done)
  })
}

export default fp(unsampledRequests, { name: 'unsampled-requests', fastify: '5.x' })
