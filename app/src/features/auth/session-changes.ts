/**
 * The Redis channel that announces "this user's sessions or cached profile changed" to every
 * instance, so each drops its local copy (session-cache.ts).
 *
 * Why a channel and not Redis' client-side caching (CLIENT TRACKING): production runs ElastiCache
 * in cluster mode, where tracking is per node and needs a redirect connection to every shard; a
 * classic PUBLISH reaches subscribers on every node of a cluster.
 *
 * A message is `<publisher>:<seq>:<userId>` (an empty user id for a canary). Losing one must never
 * go unnoticed, so:
 *  - the subscriber is a plain connection to one node even in cluster mode: ioredis' own cluster
 *    subscriber moves between nodes without any event, and messages published meanwhile are lost;
 *    this one reports every close, and after a reconnect nothing is kept until it works again;
 *  - every instance numbers what it publishes, announcements and canaries alike: a gap in a
 *    publisher's numbers empties the copy;
 *  - each instance publishes a canary every `canaryMs` and must see it back within `lateMs`, so a
 *    path that delays messages (a busy node, a broken link) pauses the copy instead of letting
 *    revocations arrive late.
 */
import { randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { SessionCache } from './session-cache.js'

/** Where the channel reports trouble. */
export interface ChangesLogger {
  warn(obj: object, msg: string): void
}

/** Timing of the canary. */
export interface CanaryTiming {
  /** How often this instance publishes a canary. @default 500 */
  canaryMs?: number
  /** How long a canary may take to come back before the copy is paused. @default 250 */
  lateMs?: number
}

/** The channel name for a Redis key prefix (channels are not covered by ioredis' keyPrefix). */
export function sessionChangesChannel(keyPrefix: string): string {
  return `${keyPrefix}sessions:changed`
}

// A publisher not heard from this long has gone (a replaced task); its numbers are forgotten.
const PUBLISHER_SILENCE_MS = 10_000

/** Numbers what this instance publishes on the channel (its peers detect a lost message by the gap). */
export class ChangeAnnouncements {
  /** This instance's name on the channel. */
  readonly publisher = randomBytes(9).toString('base64url')
  private seq = 0

  constructor(readonly channel: string) {}

  /** The next message: about `userId`, or a canary when empty. */
  next(userId = ''): { message: string; seq: number } {
    const seq = ++this.seq
    return { message: `${this.publisher}:${seq}:${userId}`, seq }
  }
}

/** Listens on the channel and keeps a {@link SessionCache} live only while the channel is known to work. */
export class SessionChanges {
  private readonly heard = new Map<string, { seq: number; at: number }>()
  /** Send times of this instance's canaries not back yet, by number. */
  private readonly pending = new Map<number, number>()
  private subscribed = false
  private subscribing = false
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private readonly canaryMs: number
  private readonly lateMs: number
  private syncing: Promise<boolean> | undefined
  private nextSync: Promise<boolean> | undefined

  constructor(
    private readonly subscriber: Redis,
    private readonly publisher: Redis | Cluster,
    private readonly announcements: ChangeAnnouncements,
    private readonly cache: SessionCache,
    private readonly log: ChangesLogger,
    timing: CanaryTiming = {},
  ) {
    this.canaryMs = timing.canaryMs ?? 500
    this.lateMs = timing.lateMs ?? 250
  }

  /** Subscribes (again after every reconnect) and starts the canary. */
  start(): void {
    const { channel } = this.announcements
    this.subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.receive(message)
    })
    const lost = () => {
      this.subscribed = false
      this.pause('subscriber connection lost')
    }
    this.subscriber.on('close', lost)
    this.subscriber.on('reconnecting', lost)
    this.subscriber.on('end', lost)
    this.timer = setInterval(() => this.tick(), this.canaryMs)
    this.timer.unref()
    this.tick()
  }

  /**
   * Resolves true once every message Redis delivered to this subscriber's node before the call has
   * been received: a PING on the subscriber connection, whose answer comes after them. Callers
   * share PINGs, but each waits for one sent after it asked (at most one in flight, one queued).
   * On a cluster, a message published on another node reaches this one over the cluster bus,
   * usually well under a millisecond later; the PING does not wait for that.
   */
  sync(): Promise<boolean> {
    if (!this.syncing) {
      this.syncing = this.ping()
      return this.syncing
    }
    this.nextSync ??= this.syncing.then(() => {
      this.nextSync = undefined
      this.syncing = this.ping()
      return this.syncing
    })
    return this.nextSync
  }

  private ping(): Promise<boolean> {
    // A slow subscriber must not hold requests up: past `lateMs` they ask Redis instead (and the
    // canary, as late, pauses the copy).
    let timer: NodeJS.Timeout | undefined
    const answered = Promise.race([
      this.subscriber.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.lateMs)
      }),
    ])
    void answered.then(() => {
      clearTimeout(timer)
      if (this.syncing === answered) this.syncing = undefined
    })
    return answered
  }

  /** Stops the canary and the subscriber; the copy is emptied. */
  close(): void {
    this.closed = true
    clearInterval(this.timer)
    this.cache.setLive(false)
    this.subscriber.disconnect()
  }

  private tick() {
    if (this.closed) return
    // ioredis replays a subscription after a reconnect; this covers a first one refused (no
    // offline queue before `ready`, an ACL) and keeps trying until it holds.
    if (!this.subscribed && !this.subscribing && this.subscriber.status === 'ready') this.subscribe()
    if (this.subscribed) this.sendCanary()
  }

  private subscribe() {
    this.subscribing = true
    this.subscriber
      .subscribe(this.announcements.channel)
      .then(() => {
        this.subscribed = true
        this.sendCanary()
      })
      .catch((err: Error) =>
        this.log.warn({ err: { message: err.message } }, 'session changes: subscribe failed'),
      )
      .finally(() => {
        this.subscribing = false
      })
  }

  private sendCanary() {
    const { message, seq } = this.announcements.next()
    this.pending.set(seq, performance.now())
    this.publisher.publish(this.announcements.channel, message).catch(() => {})
    // Checked after the poll phase that follows the timer, so a canary already waiting in the
    // socket (this process was busy, not the channel) is read first.
    setTimeout(() => setImmediate(() => this.checkArrived(seq)), this.lateMs).unref()
  }

  private checkArrived(seq: number) {
    if (this.closed || !this.pending.delete(seq)) return
    this.pause(`canary not back within ${this.lateMs} ms`)
  }

  private receive(raw: string) {
    const first = raw.indexOf(':')
    const second = raw.indexOf(':', first + 1)
    if (first < 0 || second < 0) return
    const publisher = raw.slice(0, first)
    const seq = Number(raw.slice(first + 1, second))
    const userId = raw.slice(second + 1)
    if (userId) this.cache.forget(userId)
    const now = performance.now()
    const last = this.heard.get(publisher)
    this.heard.delete(publisher)
    this.heard.set(publisher, { seq: Math.max(seq, last?.seq ?? 0), at: now })
    this.forgetSilentPublishers(now)
    // A gap in a publisher's numbers: a message of it was lost, or overtaken by a later one (cluster
    // nodes forward independently). Either way, start over from what Redis holds.
    if (last && seq > last.seq + 1 && this.cache.isLive) {
      this.log.warn({ publisher, expected: last.seq + 1, got: seq }, 'session changes: a message was lost')
      this.cache.setLive(true)
    }
    if (publisher !== this.announcements.publisher) return
    const sentAt = this.pending.get(seq)
    if (sentAt === undefined) return
    this.pending.delete(seq)
    // Only a canary back in time proves the channel delivers promptly.
    if (!this.cache.isLive && this.subscribed && now - sentAt <= this.lateMs) this.cache.setLive(true)
  }

  // Publishers are kept in the order last heard: the silent ones come first.
  private forgetSilentPublishers(now: number) {
    for (const [publisher, { at }] of this.heard) {
      if (now - at <= PUBLISHER_SILENCE_MS) break
      this.heard.delete(publisher)
    }
  }

  private pause(reason: string) {
    if (!this.cache.isLive) return
    this.cache.setLive(false)
    this.log.warn({ reason }, 'session changes: local sessions dropped; checking every request in Redis')
  }
}
