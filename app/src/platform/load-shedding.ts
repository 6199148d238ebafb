/**
 * Load shedding: beyond capacity, answer 503 + Retry-After at once instead of letting every
 * request slow down until clients time out. Signals, cheapest and earliest first:
 * - requests in flight over an adaptive limit (platform/concurrency-limit.ts): refuses the excess
 *   before it queues anywhere, the limit following the latency admitted requests see;
 * - event-loop delay and heap in use (`@fastify/under-pressure`, sampled every `sampleIntervalMs`);
 * - queries waiting for a pooled PostgreSQL connection (read per request).
 * All run in `onRequest`: a shed request costs no body parsing, session lookup or query. Health
 * checks are never shed and never counted: a busy instance is not a broken one, and the load
 * balancer must not take every busy instance out at once.
 */
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { poolWaiting } from '../db/pool-stats.js'
import { metrics } from '../telemetry/metrics.js'
import { ConcurrencyLimit } from './concurrency-limit.js'
import { HttpError } from './errors.js'

/** Which signal shed a request. */
export type ShedSignal = 'concurrency' | 'eventLoopDelay' | 'heapUsedBytes' | 'poolWaiting'

/** The shedder's hooks for metrics: a counter of shed requests by signal. */
export interface LoadShedder {
  /** Called once per shed request; must not throw. */
  onShed: ((signal: ShedSignal, request: FastifyRequest) => void) | undefined
  /** Requests shed since start, by signal. */
  readonly shed: Record<ShedSignal, number>
  /** The adaptive in-flight limit, if enabled. */
  readonly concurrency: ConcurrencyLimit | undefined
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

async function loadShedding(app: FastifyInstance, opts: { config: Config['shedding'] }) {
  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxPoolWaiting, sampleIntervalMs, retryAfterSeconds } =
    opts.config
  const { concurrency: limits } = opts.config
  const shedder: LoadShedder = {
    onShed: undefined,
    shed: { concurrency: 0, eventLoopDelay: 0, heapUsedBytes: 0, poolWaiting: 0 },
    concurrency: limits.max > 0 ? new ConcurrencyLimit(limits) : undefined,
  }
  app.decorate('loadShedder', shedder)

  // The error handler gives it the service's error shape and the Retry-After header.
  const shed = (signal: ShedSignal, request: FastifyRequest): HttpError => {
    shedder.shed[signal]++
    metrics.shed(request.routeOptions.url ?? 'unknown')
    try {
      shedder.onShed?.(signal, request)
    } catch {}
    return new HttpError(503, 'OVERLOADED', 'Server busy, retry shortly', undefined, {
      'retry-after': String(retryAfterSeconds),
    })
  }

  // Start-up (schema compilation, connecting, other plugins' onReady work) blocks the loop; the
  // samples that saw it are not overload, so the loop and heap signals count from two samples
  // after the first request. Registered before under-pressure so it runs first.
  let armedAt = Number.POSITIVE_INFINITY
  let served = false
  app.addHook('onRequest', (_request, _reply, done) => {
    if (!served) {
      served = true
      armedAt = performance.now() + 2 * sampleIntervalMs
    }
    done()
  })

  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes,
    sampleInterval: sampleIntervalMs,
    // Resolving lets the request through; rejecting answers with the error.
    pressureHandler: async (request, _reply, type) => {
      if (request.url.startsWith(NEVER_SHED) || performance.now() < armedAt) return
      throw shed(type === 'heapUsedBytes' ? 'heapUsedBytes' : 'eventLoopDelay', request)
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
}

export default fp(loadShedding, { name: 'load-shedding', fastify: '5.x' })
