/** Builds a Fastify instance for a configuration: the server entry point and the tests share it. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import pino, { type DestinationStream } from 'pino'
import app from './app.js'
import type { Config } from './config.js'
import { frameworkErrorBody } from './platform/errors.js'
import { censorChildBindings, censorSecrets } from './platform/log-redaction.js'
import { requestIdOf } from './platform/request-id.js'
import { AccessLog, accessRequest } from './platform/request-log.js'
import { buildValidator } from './platform/validation.js'
import { logTraceFields } from './telemetry/log-correlation.js'

/** What tests may inject besides configuration. */
export interface BuildOptions {
  /** Where JSON logs go (default stdout); tests capture them here. */
  logStream?: DestinationStream
}

/**
 * Lines leave in writes of at least 4 KiB, and at the latest every 100 ms: under load one write
 * (a hop through libuv's thread pool and a pipe wake-up) carries a dozen access lines instead of
 * one or two, and a quiet service's lines reach the collector within a tenth of a second (the
 * timer then writes nothing, ten times a second). While stdout is stalled (the log driver blocks)
 * lines queue in memory up to 16 MiB; beyond that they are dropped rather than grow the heap.
 * Exits flush what is buffered within a bound (`flushLogs`); a SIGKILL loses it.
 */
export const LOG_BUFFERING = { minLength: 4096, periodicFlush: 100, maxLength: 16 * 1024 * 1024 }

/** The part of sonic-boom (pino's destination) an exit flush needs. */
interface FlushableStream {
  flush?: (cb: (err?: NodeJS.ErrnoException) => void) => void
  destroy?: () => void
  on: (event: 'write', listener: (n: number) => void) => unknown
  off: (event: 'write', listener: (n: number) => void) => unknown
}

/**
 * Writes out what the logger holds, waiting at most `timeoutMs`; true when it all left. Call it
 * before `process.exit`: pino's own exit hook writes synchronously and, on a stalled pipe, retries
 * forever, so on a timeout the buffer is discarded and the stream closed (later lines are lost).
 *
 * One sonic-boom flush is not enough: called while a write is in flight it reports back when that
 * write lands, with the lines logged meanwhile still buffered, and it reports fsync's EINVAL on a
 * pipe (stdout under a log driver) as a failure. So rounds repeat until one writes nothing.
 */
export async function flushLogs(log: FastifyInstance['log'], timeoutMs: number): Promise<boolean> {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | FlushableStream
    | undefined
  if (!stream?.flush) return true
  const flushRound = () =>
    new Promise<{ ok: boolean; wrote: boolean }>((done) => {
      let wrote = false
      const onWrite = (n: number) => {
        if (n > 0) wrote = true
      }
      stream.on('write', onWrite)
      stream.flush?.((err) => {
        stream.off('write', onWrite)
        // fsync of a pipe or a terminal fails with EINVAL after the bytes were written.
        done({ ok: !err || err.code === 'EINVAL', wrote })
      })
    })
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((done) => {
    timer = setTimeout(() => done(false), timeoutMs)
  })
  const rounds = async () => {
    for (;;) {
      const { ok, wrote } = await flushRound()
      if (!ok) return false
      if (!wrote) return true
    }
  }
  const flushed = await Promise.race([rounds(), timedOut])
  clearTimeout(timer)
  if (!flushed) stream.destroy?.()
  return flushed
}

/**
 * Pino options: JSON lines, request id on every line, sensitive headers and fields redacted.
 * Without a stream, lines go to stdout asynchronously: a synchronous write per line blocks the
 * event loop whenever the pipe to the log collector is full, and under load lines written while a
 * write is in flight leave together. Pino flushes what is buffered when the process exits.
 */
export function loggerOptions(config: Config, stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    // Not pino's `redact`: its wildcard paths deep-clone every line (platform/log-redaction.ts).
    formatters: { log: censorSecrets },
    mixin: logTraceFields,
    // The access line is assembled in request-log.ts with this same serializer, past pino's
    // formatter, mixin and hooks: request-log.test.ts holds it to what pino writes with these options.
    serializers: { req: accessRequest },
    stream: stream ?? pino.destination({ dest: 1, sync: false, ...LOG_BUFFERING }),
  }
}

/** Creates the instance and registers the app; call `.ready()` or `.listen()` on the result. */
export async function buildServer(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const fastify = Fastify({
    logger: loggerOptions(config, options.logStream),
    // One line per request, written when it completes, not two.
    logController: new AccessLog(),
    genReqId: requestIdOf,
    requestIdHeader: false,
    // Fastify accepts a hop count at run time; its typings lag behind.
    trustProxy: config.trustProxy as boolean | string,
    bodyLimit: config.bodyLimitBytes,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Fastify answers 503 to requests arriving while it drains, and closes idle keep-alive sockets.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
    // Bodies without type coercion, strict date formats: platform/validation.ts.
    schemaController: { compilersFactory: { buildValidator: buildValidator() } },
    // Router errors (malformed percent-encoding, overlong params) in the shared error shape too.
    frameworkErrors: (error, request, reply) => {
      const { status, body } = frameworkErrorBody(error, request.id)
      ;(reply as FastifyReply).code(status).send(body)
    },
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Every request's logger is a child of this one (its `reqId`), and so are the components'.
  censorChildBindings(fastify.log)
  // Node closes connections whose headers take longer than this; it must exceed keep-alive.
  fastify.server.headersTimeout = config.keepAliveTimeoutMs + 1000
  await fastify.register(app, { config })
  return fastify
}
