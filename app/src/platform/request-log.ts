/**
 * The access log: one line per request, written when the answer is complete, with the request
 * (method, URL with search terms redacted, client address, headers with credentials redacted),
 * the status and the time taken. Fastify's default writes two lines per request ("incoming
 * request", then "request completed"); at thousands of requests a second the log is a measurable
 * share of what a request costs, and the first line says nothing the second does not. Every other
 * line Fastify writes (errors, aborted streams, serializer failures) is kept.
 *
 * The "request completed" line is assembled here rather than by pino's generic serializer: the
 * same bytes, from the logger's own level label, clock, bindings (the request id) and stream, but
 * without the intermediate objects pino builds for any line. In the benchmark the access line was
 * about a fifth of a cached read's CPU (docs/benchmarks.md, seventh pass).
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import pino from 'pino'
import { logTraceFields } from '../telemetry/log-correlation.js'
import { censorHeaders } from './log-redaction.js'

/** A URL with the value of every `q` parameter (search terms: personal data) replaced. */
export function redactSearchTerms(url: string): string {
  return url.replace(/([?&]q=)[^&#]*/g, '$1[redacted]')
}

/** The access line's `req`: what the request was, never a credential. Also pino's `req` serializer. */
export function accessRequest(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactSearchTerms(req.url),
    host: req.host,
    remoteAddress: req.ip,
    headers: censorHeaders(req.headers),
  }
}

const INFO = 30

/** The pino internals the line is assembled from, read through the symbols pino exports. */
function partsOf(logger: unknown) {
  const log = logger as Record<symbol, unknown>
  const { chindingsSym, lsCacheSym, streamSym, timeSym } = pino.symbols
  return {
    level: (log[lsCacheSym] as Record<number, string>)[INFO] as string,
    time: log[timeSym] as () => string,
    bindings: log[chindingsSym] as string,
    stream: log[streamSym] as { write(line: string): unknown },
  }
}

/**
 * The "request completed" line as pino writes it for `{ req, res, responseTime }` with the
 * service's logger options: level, time, bindings, trace ids (the mixin), then the fields.
 */
export function completedLine(request: FastifyRequest, reply: FastifyReply): string {
  const log = partsOf(reply.log)
  const ids = logTraceFields()
  const trace = ids.trace_id
    ? `,"trace_id":"${ids.trace_id}","span_id":"${ids.span_id}","trace_flags":"${ids.trace_flags}"`
    : ''
  return (
    `${log.level}${log.time()}${log.bindings}${trace}` +
    `,"req":${JSON.stringify(accessRequest(request))},"res":{"statusCode":${reply.statusCode}}` +
    `,"responseTime":${JSON.stringify(reply.elapsedTime)},"msg":"request completed"}\n`
  )
}

// The request's logger carries the route's level (`logLevel: 'warn'` silences health checks).
const infoEnabled = (reply: FastifyReply) => (reply.log as unknown as pino.Logger).isLevelEnabled('info')

/** Fastify's log controller with the "incoming request" line folded into "request completed". */
export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      reply.log.error(
        { req: request, res: reply, err: error, responseTime: reply.elapsedTime },
        'request errored',
      )
    } else if (!this.isLogDisabled(request) && infoEnabled(reply)) {
      const { stream } = partsOf(reply.log)
      // A multistream wants each line's level alongside: pino's own path tells it.
      if ((stream as Record<symbol, unknown>)[pino.symbols.needsMetadataGsym]) {
        reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
      } else stream.write(completedLine(request, reply))
    }
  }
}
