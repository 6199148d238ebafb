/**
 * A cap on the SSE streams one user holds open, across every instance. Each stream is a member of
 * the user's sorted set, scored with the time its lease runs out; heartbeats renew the lease, and a
 * stream of a crashed instance simply expires. Admission is one Lua call, so two streams opening at
 * once on two instances cannot both take the last place.
 *
 *   sse:{<userId>}  -> zset { <stream id> -> lease expiry (ms) }
 */
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'

// KEYS: the user's set. ARGV: stream id, lease ms, cap. Returns 1 when admitted, 0 when full.
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`
// KEYS: the user's set. ARGV: stream id, lease ms. Renews one lease.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

type Scripted = (Redis | Cluster) & {
  sseAdmit(key: string, id: string, leaseMs: string, cap: string): Promise<number>
  sseRenew(key: string, id: string, leaseMs: string): Promise<number>
}

/** Admits, renews and releases the streams of users. */
export class StreamCap {
  private readonly redis: Scripted
  private readonly leaseMs: string

  constructor(
    redis: Redis | Cluster,
    private readonly cap: number,
    /** Longer than two heartbeats: a live stream never loses its place. */
    heartbeatMs: number,
  ) {
    if (!('sseAdmit' in redis)) {
      redis.defineCommand('sseAdmit', { numberOfKeys: 1, lua: ADMIT })
      redis.defineCommand('sseRenew', { numberOfKeys: 1, lua: RENEW })
    }
    this.redis = redis as Scripted
    this.leaseMs = String(heartbeatMs * 3)
  }

  /** A lease for a new stream of `userId`, or undefined when the user is at the cap. */
  async admit(userId: string): Promise<{ renew(): Promise<void>; release(): Promise<void> } | undefined> {
    const key = `sse:{${userId}}`
    const id = randomUUID()
    if ((await this.redis.sseAdmit(key, id, this.leaseMs, String(this.cap))) !== 1) return undefined
    return {
      renew: async () => {
        await this.redis.sseRenew(key, id, this.leaseMs)
      },
      release: async () => {
        await this.redis.zrem(key, id)
      },
    }
  }
}
