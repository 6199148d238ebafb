/**
 * Cache-aside over Redis with three protections:
 *  - stampede: one load per key per instance (single-flight), and across instances a short Redis
 *    lock lets one instance load while the others wait briefly for its result;
 *  - stale writes: entries live under a per-namespace version; a write bumps the version, so a load
 *    that raced the write stores its result under a version nobody reads any more;
 *  - Redis outages: every Redis failure degrades to loading from the database; a read never fails
 *    because the cache is away.
 *
 *   cache:<ns>:v            -> integer version of the namespace (INCR on write)
 *   cache:<ns>:<v>:<key>    -> JSON value, TTL
 *   cache:<ns>:<v>:<key>:lk -> loader lock, PX lockMs
 *
 * Every command touches one key, so this works unchanged on a Redis Cluster.
 */
import { randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'

/** Where the cache reports degraded operation. */
export interface CacheLogger {
  warn(obj: object, msg: string): void
}

/** Tuning of the stampede protection. */
export interface CacheOptions {
  /** How long one instance may hold the loader lock of a key. @default 5000 */
  lockMs?: number
  /** How long an instance that lost the lock waits for the winner's value before loading itself. @default 1000 */
  waitMs?: number
  /** Poll interval while waiting. @default 25 */
  pollMs?: number
}

/** Counters a test or a metrics endpoint can read. */
export interface CacheStats {
  hits: number
  misses: number
  loads: number
  redisErrors: number
}

// Deletes the lock only if this instance still holds it (it may have expired and been re-taken).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/** Get-or-load with TTL, versioned invalidation and stampede protection. */
export class Cache {
  readonly stats: CacheStats = { hits: 0, misses: 0, loads: 0, redisErrors: 0 }
  private readonly inflight = new Map<string, Promise<unknown>>()
  private readonly lockMs: number
  private readonly waitMs: number
  private readonly pollMs: number
  private lastWarnAt = 0

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly log: CacheLogger,
    options: CacheOptions = {},
  ) {
    this.lockMs = options.lockMs ?? 5000
    this.waitMs = options.waitMs ?? 1000
    this.pollMs = options.pollMs ?? 25
  }

  /** The cached value of `key` in namespace `ns`, or the loader's result (then cached for `ttlSeconds`). */
  getOrLoad<T>(ns: string, key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T> {
    const flightKey = `${ns}\u0000${key}`
    const existing = this.inflight.get(flightKey)
    if (existing) return existing as Promise<T>
    const flight = this.fetch(ns, key, ttlSeconds, load).finally(() => this.inflight.delete(flightKey))
    this.inflight.set(flightKey, flight)
    return flight
  }

  /** Makes every cached entry of a namespace unreachable (call after the write commits). */
  async invalidate(ns: string): Promise<void> {
    // Best effort: if Redis is away the entries expire with their TTL, which bounds the staleness.
    await this.attempt(() => this.redis.incr(versionKey(ns)))
  }

  private async fetch<T>(ns: string, key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T> {
    const version = await this.attempt(() => this.redis.get(versionKey(ns)))
    if (version === FAILED) return this.load(load)
    const dataKey = `cache:${ns}:${version ?? '0'}:${key}`

    const cached = await this.attempt(() => this.redis.get(dataKey))
    if (cached === FAILED) return this.load(load)
    if (cached !== null) {
      this.stats.hits++
      return JSON.parse(cached) as T
    }
    this.stats.misses++

    const token = randomBytes(12).toString('base64url')
    const lockKey = `${dataKey}:lk`
    const locked = await this.attempt(() => this.redis.set(lockKey, token, 'PX', this.lockMs, 'NX'))
    if (locked === FAILED) return this.load(load)
    if (locked === null) {
      const value = await this.waitFor<T>(dataKey)
      if (value !== undefined) return value
    }
    try {
      const value = await this.load(load)
      await this.attempt(() => this.redis.set(dataKey, JSON.stringify(value), 'EX', ttlSeconds))
      return value
    } finally {
      if (locked !== null) await this.attempt(() => this.redis.eval(RELEASE, 1, lockKey, token))
    }
  }

  private async waitFor<T>(dataKey: string): Promise<T | undefined> {
    const deadline = Date.now() + this.waitMs
    while (Date.now() < deadline) {
      await sleep(this.pollMs)
      const raw = await this.attempt(() => this.redis.get(dataKey))
      if (raw === FAILED) return undefined
      if (raw !== null) {
        this.stats.hits++
        return JSON.parse(raw) as T
      }
    }
    return undefined
  }

  private load<T>(load: () => Promise<T>): Promise<T> {
    this.stats.loads++
    return load()
  }

  private async attempt<T>(command: () => Promise<T>): Promise<T | typeof FAILED> {
    try {
      return await command()
    } catch (err) {
      this.stats.redisErrors++
      // Once per interval: during an outage every read would log otherwise.
      const now = Date.now()
      if (now - this.lastWarnAt >= WARN_INTERVAL_MS) {
        this.lastWarnAt = now
        this.log.warn({ err: { message: (err as Error).message } }, 'cache unavailable; reading through')
      }
      return FAILED
    }
  }
}

const FAILED = Symbol('redis-failed')
const WARN_INTERVAL_MS = 10_000
const versionKey = (ns: string) => `cache:${ns}:v`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
