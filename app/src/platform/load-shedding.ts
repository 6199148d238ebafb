/**
 * Load shedding: beyond capacity, answer 503 + Retry-After at once instead of letting every
 * request slow down until clients time out. Signals: event-loop delay and heap in use
 * (`@fastify/under-pressure`, sampled every `sampleIntervalMs`) and queries waiting for a pooled
 * PostgreSQL connection (read per request, so a pool backlog sheds without waiting for a sample).
 * Health checks are never shed: a busy instance is not a broken one, and the load balancer must
 * not take every busy instance out at once.
 */
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { poolWaiting } from '../db/pool-stats.js'
import { metrics } from '../telemetry/metrics.js'
import { HttpError } from './errors.js'

/** Which signal shed a request. */
export type ShedSignal = 'eventLoopDelay' | 'heapUsedBytes' | 'poolWaiting'

/** The shedder's hooks for metrics: a counter of shed requests by signal. */
export interface LoadShedder {
  /** Called once per shed request; must not throw. */
  onShed: ((signal: ShedSignal, request: FastifyRequest) => void) | undefined
  /** Requests shed since start, by signal. */
  readonly shed: Record<ShedSignal, number>
}

declare module 'fastify' {
  interface FastifyInstance {
    loadShedder: LoadShedder
  }
}

const NEVER_SHED = '/health/'

async function loadShedding(app: FastifyInstance, opts: { config: Config['shedding'] }) {
  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxPoolWaiting, sampleIntervalMs, retryAfterSeconds } =
    opts.config
  const shedder: LoadShedder = {
    onShed: undefined,
    shed: { eventLoopDelay: 0, heapUsedBytes: 0, poolWaiting: 0 },
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
}

export default fp(loadShedding, { name: 'load-shedding', fastify: '5.x' })
