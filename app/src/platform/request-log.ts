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

/** What the line is assembled from. */
interface LoggerParts {
  level: string
  time: () => string
  bindings: string
  stream: { write(line: string): unknown }
}

/**
 * The pino internals the line is assembled from, read through the symbols pino exports; undefined
 * when they are not there (another copy of pino made the logger) or the stream is a multistream,
 * which wants each line's level alongside: pino's own path writes those lines.
 */
function partsOf(logger: unknown): LoggerParts | undefined {
  const log = logger as Record<symbol, unknown>
  const { chindingsSym, lsCacheSym, needsMetadataGsym, streamSym, timeSym } = pino.symbols
  const level = (log[lsCacheSym] as Record<number, string> | undefined)?.[INFO]
  const stream = log[streamSym] as (LoggerParts['stream'] & Record<symbol, unknown>) | undefined
  const time = log[timeSym]
  const bindings = log[chindingsSym]
  if (!level || typeof time !== 'function' || typeof bindings !== 'string') return undefined
  if (typeof stream?.write !== 'function' || stream[needsMetadataGsym]) return undefined
  return { level, time: time as () => string, bindings, stream }
}

/**
 * The "request completed" line as pino writes it for `{ req, res, responseTime }` with the
 * service's logger options: level, time, bindings, trace ids (the mixin), then the fields.
 */
function completedLine(log: LoggerParts, request: FastifyRequest, reply: FastifyReply): string {
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
      const parts = partsOf(reply.log)
      if (parts) parts.stream.write(completedLine(parts, request, reply))
      else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    }
  }
}
