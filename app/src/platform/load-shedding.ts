/**
 * Load shedding: beyond capacity, answer 503 + Retry-After at once instead of letting every
 * request slow down until clients time out. Signals, cheapest and earliest first:
 * - requests in flight over an adaptive limit (platform/concurrency-limit.ts): refuses the excess
 *   before it queues anywhere, the limit following the latency admitted requests see;
 * - event-loop delay over consecutive samples (platform/loop-delay.ts: one stall is not overload)
 *   and heap in use (`@fastify/under-pressure`), sampled every `sampleIntervalMs`;
 * - queries waiting for a pooled PostgreSQL connection (read per request).
 * All run in `onRequest`: a shed request costs no body parsing, session lookup or query. Health
 * checks are never shed and never counted: a busy instance is not a broken one, and the load
 * balancer must not take every busy instance out at once.
 *
 * On the real server the same decision is taken once more before Fastify sees the request, and a
 * refused request is answered there from constant parts: a 503 through Fastify's routing, hooks,
 * error handler, serializer and access log cost ~120 µs of CPU here, about twice a healthy
 * `/health/live`, so past capacity the refusals themselves took the cores and every answer,
 * accepted or not, waited seconds in the socket queue. Those 503s write no access log line each.
 * One warning a second (`requests shed`) counts every refusal by signal, and the shed metric counts each.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { poolWaiting } from '../db/pool-stats.js'
import { metrics } from '../telemetry/metrics.js'
import { ConcurrencyLimit } from './concurrency-limit.js'
import { simpleCorsHeaders } from './cors.js'
import { HttpError } from './errors.js'
import { LoopDelay } from './loop-delay.js'
import { requestIdOf } from './request-id.js'
import { SECURITY_HEADERS } from './security-headers.js'

/** Which signal shed a request. */
export type ShedSignal = 'concurrency' | 'eventLoopDelay' | 'heapUsedBytes' | 'poolWaiting'

/** The shedder's hooks for metrics: a counter of shed requests by signal. */
export interface LoadShedder {
  /** Called once per shed request (without a request when shed before routing); must not throw. */
  onShed: ((signal: ShedSignal, request: FastifyRequest | undefined) => void) | undefined
  /** Requests shed since start, by signal. */
  readonly shed: Record<ShedSignal, number>
  /** Of those, the ones answered before routing (on the real server, not `inject`). */
  readonly shedBeforeRouting: Record<ShedSignal, number>
  /** The adaptive in-flight limit, if enabled. */
  readonly concurrency: ConcurrencyLimit | undefined
  /** The event-loop delay signal, if enabled. */
  readonly loopDelay: LoopDelay | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    loadShedder: LoadShedder
  }
  interface FastifyContextConfig {
    /**
     * A response that stays open (an event stream): it may be shed when it starts, but holds no
     * in-flight slot and reports no latency, or one stream would pin a slot for hours.
     */
    longLived?: boolean
    /**
     * The route bounds its own expensive work (the login's hashing limiter sheds with 503 itself):
     * it takes no in-flight slot and its deliberately slow answers do not steer the limit.
     */
    ownLimiter?: boolean
  }
}

const NEVER_SHED = '/health/'
// The routes with their own limiter (`ownLimiter`: the login steps) live here. Before routing the
// in-flight limit leaves the whole prefix alone: it must never refuse what routing would admit.
const OWN_LIMITER_PREFIX = '/v1/auth/'
// `scheme://authority` in front of an absolute-form request target.
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i
/** The route label of requests shed before routing, in the shed metric. */
export const BEFORE_ROUTING = '(before routing)'
const MESSAGE = 'Server busy, retry shortly'

/** Options of the load-shedding plugin. */
export interface LoadSheddingOptions {
  config: Config['shedding']
  /** Browser origins given CORS headers (config.web.origins), so a browser can read the 503. */
  corsOrigins: readonly string[]
}

async function loadShedding(app: FastifyInstance, opts: LoadSheddingOptions) {
  const {
    maxEventLoopDelayMs,
    eventLoopDelaySamples,
    maxHeapUsedBytes,
    maxPoolWaiting,
    sampleIntervalMs,
    retryAfterSeconds,
  } = opts.config
  const { concurrency: limits } = opts.config
  const shedder: LoadShedder = {
    onShed: undefined,
    shed: { concurrency: 0, eventLoopDelay: 0, heapUsedBytes: 0, poolWaiting: 0 },
    shedBeforeRouting: { concurrency: 0, eventLoopDelay: 0, heapUsedBytes: 0, poolWaiting: 0 },
    concurrency: limits.max > 0 ? new ConcurrencyLimit(limits) : undefined,
    loopDelay:
      maxEventLoopDelayMs > 0
        ? new LoopDelay({
            limitMs: maxEventLoopDelayMs,
            sampleIntervalMs,
            samples: eventLoopDelaySamples,
          })
        : undefined,
  }
  app.decorate('loadShedder', shedder)
  const summary = new ShedSummary(app)

  const allowedOrigins = new Set(opts.corsOrigins)
  /**
   * The headers of every 503 this plugin gives. A routed refusal comes before the security-header
   * and CORS hooks run, so it carries their headers itself: without CORS a browser cannot read
   * the Retry-After, and without no-store CloudFront keeps the 503 for its error-caching TTL.
   */
  const refusalHeaders = (origin: string | string[] | undefined): Record<string, string> => ({
    ...SECURITY_HEADERS,
    ...simpleCorsHeaders(typeof origin === 'string' ? origin : undefined, allowedOrigins),
    'retry-after': String(retryAfterSeconds),
    'cache-control': 'no-store',
  })
  // The error handler gives it the service's error shape.
  const shed = (signal: ShedSignal, request: FastifyRequest): HttpError => {
    shedder.shed[signal]++
    metrics.shed(request.routeOptions.url ?? 'unknown')
    summary.count(signal, false)
    try {
      shedder.onShed?.(signal, request)
    } catch {}
    return new HttpError(503, 'OVERLOADED', MESSAGE, undefined, refusalHeaders(request.headers.origin))
  }

  const loop = shedder.loopDelay
  // Start-up (schema compilation, connecting, other plugins' onReady work) blocks the loop; the
  // samples that saw it are not overload, so the loop and heap signals count from two samples
  // after the first request. Registered before under-pressure so it runs first.
  let armedAt = Number.POSITIVE_INFINITY
  let served = false
  app.addHook('onRequest', (request, _reply, done) => {
    if (!served) {
      served = true
      armedAt = performance.now() + 2 * sampleIntervalMs
    }
    if (loop?.overloaded && performance.now() >= armedAt && !request.url.startsWith(NEVER_SHED)) {
      return done(shed('eventLoopDelay', request))
    }
    done()
  })
  app.addHook('onClose', async () => loop?.close())

  // Heap only: the loop is judged above, over consecutive samples (platform/loop-delay.ts).
  await app.register(underPressure, {
    maxHeapUsedBytes,
    sampleInterval: sampleIntervalMs,
    // Resolving lets the request through; rejecting answers with the error.
    pressureHandler: async (request) => {
      if (request.url.startsWith(NEVER_SHED) || performance.now() < armedAt) return
      throw shed('heapUsedBytes', request)
    },
  })

  if (maxPoolWaiting > 0) {
    app.addHook('onRequest', (request, _reply, done) => {
      if (poolWaiting() >= maxPoolWaiting && !request.url.startsWith(NEVER_SHED)) {
        return done(shed('poolWaiting', request))
      }
      done()
    })
  }

  // Last: a request shed by a cheaper signal above never takes a slot.
  const limit = shedder.concurrency
  if (limit) {
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.startsWith(NEVER_SHED) || request.routeOptions.config.ownLimiter) return
      if (request.routeOptions.config.longLived) {
        // The stream's start is shed like any request; its open hours hold no slot.
        if (limit.full) throw shed('concurrency', request)
        return
      }
      if (!limit.tryAcquire()) throw shed('concurrency', request)
      // Time in the instance only. Adding the event-loop delay fed back on itself: answering a
      // flood of 503s lags the loop, which cut the limit, which made more 503s (goodput fell 4x
      // under 50 closed-loop clients on the busy machine). A lagging loop is the delay signal's job.
      const startedAt = performance.now()
      // 'close' also fires when the client goes away before the answer: the slot is freed either way.
      reply.raw.once('close', () => limit.release(performance.now() - startedAt))
    })
  }

  // The same decision as the hooks above, for a request Fastify has not seen yet.
  const signalFor = (target: string): ShedSignal | undefined => {
    // An absolute-form target (`POST http://host/v1/auth/login`) is routed by its path: judge that.
    const url = target.startsWith('/') ? target : target.replace(ABSOLUTE_FORM, '')
    if (url.startsWith(NEVER_SHED)) return undefined
    if (performance.now() >= armedAt) {
      if (loop?.overloaded) return 'eventLoopDelay'
      if (maxHeapUsedBytes > 0 && app.memoryUsage().heapUsed > maxHeapUsedBytes) return 'heapUsedBytes'
    }
    if (maxPoolWaiting > 0 && poolWaiting() >= maxPoolWaiting) return 'poolWaiting'
    if (limit?.full && !url.startsWith(OWN_LIMITER_PREFIX)) return 'concurrency'
    return undefined
  }
  const refuse = (req: IncomingMessage, res: ServerResponse, signal: ShedSignal) => {
    const startedAt = performance.now()
    shedder.shed[signal]++
    shedder.shedBeforeRouting[signal]++
    metrics.shed(BEFORE_ROUTING)
    summary.count(signal, true)
    try {
      shedder.onShed?.(signal, undefined)
    } catch {}
    const requestId = requestIdOf(req)
    const body = JSON.stringify({ error: { code: 'OVERLOADED', message: MESSAGE, requestId } })
    res.writeHead(503, {
      ...refusalHeaders(req.headers.origin),
      'x-request-id': requestId,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
    // The request count and the 5xx-rate alarm read this metric; a refusal must be in it too.
    metrics.request(BEFORE_ROUTING, req.method ?? 'GET', 503, (performance.now() - startedAt) / 1000)
  }
  // While the service drains, Fastify's own 503 answers: it also closes the connection, which the
  // drain waits for (a keep-alive 503 here held shutdown past its deadline).
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  refuseBeforeRouting(app, (req, res) => {
    if (closing) return false
    const signal = signalFor(req.url ?? '/')
    if (signal === undefined) return false
    refuse(req, res, signal)
    return true
  })
  app.addHook('onClose', async () => summary.flush())
}

type EarlyRefusal = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * Puts `refused` in front of Fastify's request listener: when it answers, Fastify never sees the
 * request. Swapping the listener keeps every server setting Fastify made (a serverFactory would
 * have to restate them); only an HTTP/1 server built by Fastify has exactly one such listener.
 */
function refuseBeforeRouting(app: FastifyInstance, refused: EarlyRefusal) {
  const server = app.server
  const listeners = server.listeners('request')
  const fastifyHandler = listeners[0] as ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  if (listeners.length !== 1 || !fastifyHandler) {
    app.log.warn({ listeners: listeners.length }, 'load shedding before routing is off: unexpected server')
    return
  }
  server.removeListener('request', fastifyHandler)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!refused(req, res)) fastifyHandler(req, res)
  })
}

/**
 * One warning a second at most for every request shed, instead of one line each: at the log level
 * production runs, it is what tells an operator that the service refuses work and which signal
 * decided it (the 503s' own access lines are info, and those refused before routing have none).
 */
class ShedSummary {
  private counts: Partial<Record<ShedSignal, number>> = {}
  private beforeRouting = 0
  private timer: NodeJS.Timeout | undefined
  private loopPeakMs = 0

  constructor(private readonly app: FastifyInstance) {}

  count(signal: ShedSignal, beforeRouting: boolean) {
    this.counts[signal] = (this.counts[signal] ?? 0) + 1
    if (beforeRouting) this.beforeRouting++
    if (this.timer) return
    // The line's delay is the worst sample of its own second, from the one that caused this shed on.
    const loop = this.app.loadShedder.loopDelay
    loop?.takePeakMs()
    this.loopPeakMs = loop?.delayMs ?? 0
    this.timer = setTimeout(() => this.flush(), 1000).unref()
  }

  flush() {
    clearTimeout(this.timer)
    this.timer = undefined
    const bySignal = this.counts
    const beforeRouting = this.beforeRouting
    this.counts = {}
    this.beforeRouting = 0
    const total = Object.values(bySignal).reduce((n, c) => n + c, 0)
    if (total === 0) return
    this.app.log.warn(
      {
        shed: total,
        bySignal,
        beforeRouting,
        // By the time the line is written the loop may be calm again.
        eventLoopDelayMs: Math.round(
          Math.max(this.loopPeakMs, this.app.loadShedder.loopDelay?.takePeakMs() ?? 0),
        ),
        heapUsedBytes: this.app.memoryUsage().heapUsed,
        inFlightLimit: this.app.loadShedder.concurrency?.limit,
      },
      'requests shed',
    )
  }
}

export default fp(loadShedding, { name: 'load-shedding', fastify: '5.x' })
