/**
 * Cache-aside over Redis with three protections:
 *  - stampede: one load per key per instance (single-flight), and across instances a short Redis
 *    lock lets one instance load while the others wait briefly for its result;
 *  - stale writes: every entry carries the namespace version it was loaded under; a write bumps the
 *    version, so a load that raced the write stores a result whose version nobody accepts any more;
 *  - Redis outages: every Redis failure degrades to loading from the database; a read never fails
 *    because the cache is away.
 *
 *   cache:<ns>:v            -> integer version of the namespace (INCR on write)
 *   cache:<ns>:k:<key>      -> JSON [version, value], TTL
 *   cache:<ns>:k:<key>:lk:<v> -> loader lock, PX lockMs
 *
 * A read is one round trip: the version and the entry are fetched together, and an entry whose
 * version is not the current one is a miss. Their names are fixed (no version in them), so a Lua
 * script can read them along with other keys: the session check does for GET /v1/me, given a
 * namespace with the user's hash tag (`profile:{<userId>}`), so the cached profile costs no round
 * trip of its own. Every command touches one key, so this works unchanged on a Redis Cluster.
 * Whoever keeps copies outside Redis (the session check's local copy) registers an announcer: an
 * invalidation then publishes its message in the same script as the version bump.
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

/** An entry's version and raw value, read elsewhere in the same round trip as other work. */
export interface PrefetchedEntry {
  /** The entry's data key (second of {@link Cache.entryKeys}): what was read. */
  dataKey: string
  version: string | null
  raw: string | null
}

/** Tells other holders of a namespace's data (local copies) that it was invalidated. */
export interface InvalidationAnnouncer {
  /** The message to publish, in the same script as the version bump, or undefined for none. */
  messageFor(ns: string): { channel: string; message: string } | undefined
  /** Called just before and just after the bump: a local copy drops what it holds of `ns`. */
  settle(ns: string): void
  /** Called after the bump with the published message, to repeat it elsewhere (cluster masters). */
  broadcast?(channel: string, message: string): Promise<void>
}

// Bumps the version, then announces it; a refused PUBLISH (pcall) must not undo the bump.
const INVALIDATE = `redis.call('incr', KEYS[1]) redis.pcall('publish', ARGV[1], ARGV[2])`

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
  private announcer: InvalidationAnnouncer | undefined

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly log: CacheLogger,
    options: CacheOptions = {},
  ) {
    this.lockMs = options.lockMs ?? 5000
    this.waitMs = options.waitMs ?? 1000
    this.pollMs = options.pollMs ?? 25
  }

  /**
   * The cached value of `key` in namespace `ns`, or the loader's result (then cached for
   * `ttlSeconds`). `prefetched` is the entry as read with {@link entryKeys} by another command (the
   * session check): a current one answers without asking Redis again.
   */
  getOrLoad<T>(
    ns: string,
    key: string,
    ttlSeconds: number,
    load: () => Promise<T>,
    prefetched?: PrefetchedEntry,
  ): Promise<T> {
    // Only a read of this very entry stands in for the cache's own.
    if (prefetched && prefetched.dataKey !== this.entryKeys(ns, key)[1]) prefetched = undefined
    if (prefetched) {
      const hit = decode<T>(prefetched.raw, prefetched.version ?? '0')
      if (hit !== MISS) {
        this.stats.hits++
        return Promise.resolve(hit)
      }
    }
    const flightKey = `${ns}\u0000${key}`
    const existing = this.inflight.get(flightKey)
    if (existing) return existing as Promise<T>
    const flight = this.fetch(ns, key, ttlSeconds, load, prefetched).finally(() =>
      this.inflight.delete(flightKey),
    )
    this.inflight.set(flightKey, flight)
    return flight
  }

  /** The Redis keys (without the client's key prefix) of an entry: its namespace version, then its value. */
  entryKeys(ns: string, key: string): [versionKey: string, dataKey: string] {
    return [versionKey(ns), `cache:${ns}:k:${key}`]
  }

  /** Makes every cached entry of a namespace unreachable (call after the write commits). */
  async invalidate(ns: string): Promise<void> {
    const announcer = this.announcer
    const announce = announcer?.messageFor(ns)
    announcer?.settle(ns)
    // Best effort: if Redis is away the entries expire with their TTL, which bounds the staleness.
    const bumped = await this.attempt<unknown>(() =>
      announce
        ? this.redis.eval(INVALIDATE, 1, versionKey(ns), announce.channel, announce.message)
        : this.redis.incr(versionKey(ns)),
    )
    if (announce && bumped !== FAILED) await announcer?.broadcast?.(announce.channel, announce.message)
    announcer?.settle(ns)
  }

  /** Registers who copies entries outside Redis and must hear of invalidations (one at a time). */
  announceInvalidations(announcer: InvalidationAnnouncer): void {
    this.announcer = announcer
  }

  /** Whether a raw entry read elsewhere (`PrefetchedEntry`) is current: a hit for `getOrLoad`. */
  isCurrent(version: string | null, raw: string | null): boolean {
    return decode(raw, version ?? '0') !== MISS
  }

  private async fetch<T>(
    ns: string,
    key: string,
    ttlSeconds: number,
    load: () => Promise<T>,
    prefetched: PrefetchedEntry | undefined,
  ): Promise<T> {
    const [vKey, dataKey] = this.entryKeys(ns, key)
    let read = prefetched
    if (!read) {
      // Sent together: one round trip.
      const both = await this.attempt(() => Promise.all([this.redis.get(vKey), this.redis.get(dataKey)]))
      if (both === FAILED) return this.load(load)
      read = { dataKey, version: both[0], raw: both[1] }
      const hit = decode<T>(read.raw, read.version ?? '0')
      if (hit !== MISS) {
        this.stats.hits++
        return hit
      }
    }
    const version = read.version ?? '0'
    this.stats.misses++

    const token = randomBytes(12).toString('base64url')
    const lockKey = `${dataKey}:lk:${version}`
    const locked = await this.attempt(() => this.redis.set(lockKey, token, 'PX', this.lockMs, 'NX'))
    if (locked === FAILED) return this.load(load)
    if (locked === null) {
      const value = await this.waitFor<T>(dataKey, version)
      if (value !== MISS) return value
    }
    try {
      const value = await this.load(load)
      await this.attempt(() => this.redis.set(dataKey, JSON.stringify([version, value]), 'EX', ttlSeconds))
      return value
    } finally {
      if (locked !== null) await this.attempt(() => this.redis.eval(RELEASE, 1, lockKey, token))
    }
  }

  private async waitFor<T>(dataKey: string, version: string): Promise<T | typeof MISS> {
    const deadline = Date.now() + this.waitMs
    while (Date.now() < deadline) {
      await sleep(this.pollMs)
      const raw = await this.attempt(() => this.redis.get(dataKey))
      if (raw === FAILED) return MISS
      const value = decode<T>(raw, version)
      if (value !== MISS) {
        this.stats.hits++
        return value
      }
    }
    return MISS
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
const MISS = Symbol('cache-miss')

/** The value of a raw entry loaded under `version`; MISS when absent or of another version. */
function decode<T>(raw: string | null, version: string): T | typeof MISS {
  if (raw === null) return MISS
  const entry = JSON.parse(raw) as unknown
  return Array.isArray(entry) && entry.length === 2 && entry[0] === version ? (entry[1] as T) : MISS
}
const WARN_INTERVAL_MS = 10_000
const versionKey = (ns: string) => `cache:${ns}:v`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
