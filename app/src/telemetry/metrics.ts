/**
 * The service's own metric instruments and the small API features call. Built on the
 * OpenTelemetry API: without the SDK (telemetry off) every instrument is a no-op, so features
 * call these unconditionally. Names follow OpenTelemetry's semantic conventions where one
 * exists; docs/observability.md lists them with their CloudWatch names and alarms.
 */
import { type Attributes, type ObservableResult, metrics as otelMetrics } from '@opentelemetry/api'

/** Instrumentation scope of every instrument below. */
export const METER_NAME = 'blueprint-api'

/** Request duration histogram (seconds), per route, method, status code and class. */
export const REQUEST_DURATION = 'http.server.request.duration'
/** Responses with a 4xx or 5xx status, per route and status class. */
export const REQUEST_ERRORS = 'http.server.request.errors'
/** Requests refused by load shedding, per route. */
export const SHED = 'http.server.request.shed'
/** Connections of a PostgreSQL pool checked out / queued for / at most (per pool role). */
export const DB_POOL_USED = 'db.client.connection.used'
export const DB_POOL_WAITING = 'db.client.connection.pending_requests'
export const DB_POOL_MAX = 'db.client.connection.max'
/** used / max of the busiest pool of a role, 0..1: the "database connections" alarm signal. */
export const DB_POOL_UTILIZATION = 'db.client.connection.utilization'
/** Errors emitted by a Redis connection (per connection name). */
export const REDIS_ERRORS = 'redis.client.errors'
/** Age of the oldest outbox event not yet relayed (seconds; 0 when the outbox is empty). */
export const OUTBOX_LAG = 'outbox.lag'
/** Outbox events moved into notifications. */
export const OUTBOX_RELAYED = 'outbox.relayed'
/** Open Server-Sent Events streams on this instance. */
export const SSE_CONNECTIONS = 'sse.connections'
/** Password hashing queue of the login path: jobs waiting and running. */
export const HASH_QUEUE_WAITING = 'auth.hash_queue.waiting'
export const HASH_QUEUE_ACTIVE = 'auth.hash_queue.active'

/** What a pool reports at collection time. */
export interface PoolStats {
  used: number
  waiting: number
  max: number
}

/** Status class of an HTTP status code: `2xx`, `4xx`, `5xx`. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`
}

const meter = () => otelMetrics.getMeter(METER_NAME)

// Created on first use, after the preload installed the SDK's meter provider.
let instruments: ReturnType<typeof createInstruments> | undefined
function createInstruments() {
  const m = meter()
  return {
    duration: m.createHistogram(REQUEST_DURATION, {
      description: 'Duration of HTTP server requests',
      unit: 's',
    }),
    errors: m.createCounter(REQUEST_ERRORS, { description: 'HTTP responses with a 4xx or 5xx status' }),
    shed: m.createCounter(SHED, { description: 'Requests refused by load shedding' }),
    redisErrors: m.createCounter(REDIS_ERRORS, { description: 'Errors emitted by Redis connections' }),
    relayed: m.createCounter(OUTBOX_RELAYED, { description: 'Outbox events relayed to notifications' }),
  }
}
function get() {
  instruments ??= createInstruments()
  return instruments
}

/** Attribute sets of one (route, method, status) series. */
interface RequestSeries {
  duration: Attributes
  errors: Attributes | undefined
}

// Routes are templates and statuses few, so the series are a small, bounded set: built once,
// not per request (a hot route then allocates nothing to be measured).
const requestAttributes = new Map<string, RequestSeries>()
function requestSeries(route: string, method: string, status: number): RequestSeries {
  const key = `${method} ${status} ${route}`
  let found = requestAttributes.get(key)
  if (!found) {
    const cls = statusClass(status)
    found = {
      duration: {
        'http.route': route,
        'http.request.method': method,
        'http.response.status_code': status,
        'http.response.status_class': cls,
      },
      errors: status >= 400 ? { 'http.route': route, 'http.response.status_class': cls } : undefined,
    }
    requestAttributes.set(key, found)
  }
  return found
}

/**
 * Stops observing: call it when what was observed goes away (an app closing). The values read at
 * that moment are still reported once, at the next collection, which at shutdown is the final
 * flush: removing the callback outright would leave the last export without them.
 */
export type Unobserve = () => void

type Reading = Iterable<[number, Attributes]>

/** Registers an observable gauge whose value(s) `read` returns at each collection. */
function gauge(
  name: string,
  description: string,
  unit: string,
  read: () => Reading | Promise<Reading>,
): Unobserve {
  const instrument = meter().createObservableGauge(name, { description, unit })
  let last: Reading | Promise<Reading> | undefined
  let final: Reading | Promise<Reading> | undefined
  const callback = async (result: ObservableResult) => {
    const frozen = final
    const values = await (frozen ?? read())
    // After the await: the SDK is done iterating its callbacks, so removing one skips none.
    if (frozen !== undefined) instrument.removeCallback(callback)
    last = values
    for (const [value, attributes] of values) result.observe(value, attributes)
  }
  instrument.addCallback(callback)
  return () => {
    // A read that fails now (its pool already closed) falls back to the last one that worked.
    final = Promise.resolve()
      .then(read)
      .catch(() => last ?? [])
  }
}

function all(...unobserve: Unobserve[]): Unobserve {
  return () => {
    for (const u of unobserve) u()
  }
}

/** The service's metrics API: record calls for events, registration calls for observed values. */
export const metrics = {
  /** Records one finished HTTP request. `route` is the route template, never the raw URL. */
  request(route: string, method: string, status: number, seconds: number): void {
    const i = get()
    const series = requestSeries(route, method, status)
    i.duration.record(seconds, series.duration)
    if (series.errors) i.errors.add(1, series.errors)
  },

  /** Counts a request refused by load shedding (call where the 503 is decided). */
  shed(route: string): void {
    get().shed.add(1, { 'http.route': route })
  },

  /** Counts an error event of a Redis connection (`main`, `subscriber`). */
  redisError(connection: string): void {
    get().redisErrors.add(1, { 'redis.connection': connection })
  },

  /** Counts outbox events relayed. */
  relayed(count: number): void {
    if (count > 0) get().relayed.add(count)
  },

  /**
   * Observes PostgreSQL pools: `read` returns one entry per pool, labelled with its role
   * (`writer`, `replica`). Utilization is reported per role as the busiest pool's used / max.
   */
  dbPools(read: () => { role: string; stats: PoolStats }[]): Unobserve {
    const per = (pick: (s: PoolStats) => number) => () =>
      read().map(({ role, stats }) => [pick(stats), { 'db.pool.role': role }] as [number, Attributes])
    return all(
      gauge(
        DB_POOL_USED,
        'Connections checked out of the pool',
        '{connection}',
        per((s) => s.used),
      ),
      gauge(
        DB_POOL_WAITING,
        'Requests waiting for a pool connection',
        '{request}',
        per((s) => s.waiting),
      ),
      gauge(
        DB_POOL_MAX,
        'Pool size limit',
        '{connection}',
        per((s) => s.max),
      ),
      gauge(DB_POOL_UTILIZATION, 'Busiest pool: used / max', '1', () => {
        const byRole = new Map<string, number>()
        for (const { role, stats } of read()) {
          const ratio = stats.max > 0 ? stats.used / stats.max : 0
          byRole.set(role, Math.max(byRole.get(role) ?? 0, ratio))
        }
        return [...byRole].map(([role, ratio]) => [ratio, { 'db.pool.role': role }])
      }),
    )
  },

  /** Observes the outbox lag in seconds; `read` may query (it runs once per export interval). */
  outboxLag(read: () => Promise<number | undefined>): Unobserve {
    return gauge(OUTBOX_LAG, 'Age of the oldest outbox event', 's', async () => {
      const lag = await read().catch(() => undefined)
      return lag === undefined ? [] : [[lag, {}]]
    })
  },

  /** Observes the number of open SSE streams. */
  sseConnections(read: () => number): Unobserve {
    return gauge(SSE_CONNECTIONS, 'Open Server-Sent Events streams', '{connection}', () => [[read(), {}]])
  },

  /** Observes the login hashing queue (call once where the bounded queue is created). */
  hashQueue(read: () => { waiting: number; active: number }): Unobserve {
    return all(
      gauge(HASH_QUEUE_WAITING, 'Hashing jobs waiting', '{job}', () => [[read().waiting, {}]]),
      gauge(HASH_QUEUE_ACTIVE, 'Hashing jobs running', '{job}', () => [[read().active, {}]]),
    )
  },
}
