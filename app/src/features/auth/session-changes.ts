/**
 * The Redis channel that announces "this user's sessions or cached profile changed" to every
 * instance, so each drops its local copy (session-cache.ts). A message is the user id.
 *
 * Why a channel and not Redis' client-side caching (CLIENT TRACKING): production runs ElastiCache
 * in cluster mode, where tracking is per node and needs a redirect connection to every shard;
 * a classic PUBLISH reaches subscribers on every node of a cluster.
 *
 * A subscriber can lose messages without noticing (a cluster subscriber moving nodes, a half-open
 * connection), so each instance publishes a numbered canary every `canaryMs` on the same channel:
 * the cache is kept only while this instance's own canaries come back, in order and on time. A
 * canary missing for `graceMs`, a gap in their numbers, or a closed subscriber empties the cache.
 */
import { randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { SessionCache } from './session-cache.js'

/** Where the channel reports trouble. */
export interface ChangesLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

/** Timing of the canary. */
export interface CanaryTiming {
  /** @default 1000 */
  canaryMs?: number
  /** How long without an own canary before the cache is emptied and paused. @default 2500 */
  graceMs?: number
}

/** The channel name for a Redis key prefix (channels are not covered by ioredis' keyPrefix). */
export function sessionChangesChannel(keyPrefix: string): string {
  return `${keyPrefix}sessions:changed`
}

/** Listens on the channel and keeps a {@link SessionCache} live only while the channel is known to work. */
export class SessionChanges {
  private readonly nonce = randomBytes(9).toString('base64url')
  private sent = 0
  private seen = 0
  private lastSeenAt = 0
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private readonly canaryMs: number
  private readonly graceMs: number

  constructor(
    private readonly subscriber: Redis | Cluster,
    private readonly publisher: Redis | Cluster,
    readonly channel: string,
    private readonly cache: SessionCache,
    private readonly log: ChangesLogger,
    timing: CanaryTiming = {},
  ) {
    this.canaryMs = timing.canaryMs ?? 1000
    this.graceMs = timing.graceMs ?? 2500
  }

  /** Subscribes (again after every reconnect) and starts the canary. */
  start(): void {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message)
    })
    const pause = () => this.pause('subscriber connection lost')
    this.subscriber.on('close', pause)
    this.subscriber.on('reconnecting', pause)
    this.subscriber.on('end', pause)
    // A subscription made before `ready` would be refused (no offline queue); ioredis replays it on
    // reconnects too, and a second SUBSCRIBE of the same channel is harmless.
    this.subscriber.on('ready', () => this.subscribe())
    if (this.subscriber.status === 'ready') this.subscribe()
    this.timer = setInterval(() => this.tick(), this.canaryMs)
    this.timer.unref()
  }

  /** Stops the canary and the subscriber; the cache is emptied. */
  close(): void {
    this.closed = true
    clearInterval(this.timer)
    this.cache.setLive(false)
    this.subscriber.disconnect()
  }

  private subscribe() {
    this.subscriber
      .subscribe(this.channel)
      .then(() => this.tick())
      .catch((err: Error) =>
        this.log.warn({ err: { message: err.message } }, 'session changes: subscribe failed'),
      )
  }

  private receive(message: string) {
    if (!message.startsWith('~')) {
      this.cache.forget(message)
      return
    }
    const [nonce, number] = message.slice(1).split(':')
    if (nonce !== this.nonce) return
    const n = Number(number)
    if (n <= this.seen) return
    // A gap means messages may have been lost too: start over from what Redis holds.
    const expected = this.seen + 1
    this.seen = n
    this.lastSeenAt = Date.now()
    if (this.cache.isLive && n === expected) return
    if (this.cache.isLive)
      this.log.info({ expected, got: n }, 'session changes: canary gap; local sessions dropped')
    this.cache.setLive(true)
  }

  private tick() {
    if (this.closed) return
    if (this.cache.isLive && Date.now() - this.lastSeenAt > this.graceMs) this.pause('canary overdue')
    const n = ++this.sent
    this.publisher.publish(this.channel, `~${this.nonce}:${n}`).catch(() => {})
  }

  private pause(reason: string) {
    if (!this.cache.isLive) return
    this.cache.setLive(false)
    this.log.warn({ reason }, 'session changes: local sessions dropped; checking every request in Redis')
  }
}
