/**
 * The Redis channel that announces "this user's sessions or cached profile changed" to every
 * instance, so each drops its local copy (session-cache.ts). A message is
 * `<publisher>:<seq>:<userId>`, with an empty user id for a canary.
 *
 * Why a channel and not Redis' client-side caching (CLIENT TRACKING): production runs ElastiCache
 * in cluster mode, where tracking is per node and needs a redirect connection to every shard.
 *
 * Why one subscriber connection per master: an announcement is published by the Lua script that
 * made the change, on the master of the user's slot, which hands it to its own subscribers at
 * once; other nodes get it later over the cluster bus, with no bound on how much later. Listening
 * on every master directly, an instance can order itself after every announcement: `sync` sends a
 * PING on each link, and a master answers it only after the messages it sent before. A logout
 * that has returned is therefore refused by every instance, cluster or not. (ioredis' own cluster
 * subscriber is not used: it listens on one node and moves between nodes without an event.)
 *
 * The copy is kept only while every link provably works: subscribed, and this instance's canary,
 * published on that very master every `canaryMs`, back within `lateMs`. A closed link, a late
 * canary or a change in the set of masters pauses it; while paused every check goes to Redis.
 */
import { randomBytes } from 'node:crypto'
import { Cluster, type Redis } from 'ioredis'
import type { SessionCache } from './session-cache.js'

/** Where the channel reports trouble (rate-limited per message). */
export interface ChangesLogger {
  warn(obj: object, msg: string): void
}

/** Timing of the canary. */
export interface CanaryTiming {
  /** How often this instance publishes a canary on each master. @default 500 */
  canaryMs?: number
  /** How long a canary may take to come back before the copy is paused. @default 250 */
  lateMs?: number
}

/** A subscriber connection and how to close it for good (its IAM token refresh included). */
export interface SubscriberHandle {
  redis: Redis
  close(): void
}

/** Opens a subscriber connection to one node (`undefined`: the configured Redis itself). */
export type SubscriberFactory = (node?: { host: string; port: number }) => SubscriberHandle

/** The channel name for a Redis key prefix (channels are not covered by ioredis' keyPrefix). */
export function sessionChangesChannel(keyPrefix: string): string {
  return `${keyPrefix}sessions:changed`
}

/** Numbers what this instance publishes on the channel, so it recognises its own canaries. */
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

// Late canaries in a row after which a link is reconnected: a connection to a vanished host can
// stay open, silent, until TCP keepalive gives up.
const LATE_BEFORE_RECONNECT = 3
const WARN_INTERVAL_MS = 10_000
// ioredis refreshes a cluster's slot map only when a command meets MOVED or a node fails; a
// failover that demotes a master quietly must still reach the set of links.
const SLOTS_REFRESH_MS = 10_000
// After a refused SUBSCRIBE (an ACL without the channel), wait this long before the next try.
const SUBSCRIBE_RETRY_MS = 5_000

/** One subscribed connection to one master, and the master's connection to publish canaries on. */
class Link {
  subscribed = false
  private subscribing = false
  /** The last canary came back in time. */
  prompt = false
  private lateInARow = 0
  private closed = false
  private retryAt = 0
  private readonly pending = new Map<number, number>()
  private syncing: Promise<boolean> | undefined
  private nextSync: Promise<boolean> | undefined
  private readonly subscriber: Redis

  constructor(
    private readonly handle: SubscriberHandle,
    /** The master's current connection: a cluster pool replaces a node's object when it drops. */
    private readonly publisher: () => Redis | Cluster | undefined,
    private readonly owner: SessionChanges,
  ) {
    const subscriber = handle.redis
    this.subscriber = subscriber
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === owner.channel) owner.receive(this, message)
    })
    const lost = () => {
      this.subscribed = false
      this.prompt = false
      owner.linkDown('subscriber connection lost')
    }
    subscriber.on('close', lost)
    subscriber.on('reconnecting', lost)
    subscriber.on('end', lost)
  }

  tick() {
    if (this.closed) return
    // ioredis replays a subscription after a reconnect; this covers a first one refused (no
    // offline queue before `ready`, an ACL without the channel) and keeps trying.
    const ready = this.subscriber.status === 'ready'
    if (!this.subscribed && !this.subscribing && ready && performance.now() >= this.retryAt) this.subscribe()
    if (this.subscribed) this.sendCanary()
  }

  close() {
    this.closed = true
    this.subscribed = false
    this.prompt = false
    this.subscriber.removeAllListeners('message')
    this.handle.close()
  }

  /** Handles one of this instance's canaries heard on this link. */
  canaryBack(seq: number) {
    if (this.closed) return
    const sentAt = this.pending.get(seq)
    if (sentAt === undefined) return
    this.pending.delete(seq)
    if (performance.now() - sentAt > this.owner.lateMs) return
    this.lateInARow = 0
    this.prompt = true
    this.owner.linkUp()
  }

  /** True once this master has answered a PING sent after the call (false after `lateMs`). */
  sync(): Promise<boolean> {
    if (!this.syncing) {
      this.syncing = this.ping()
      return this.syncing
    }
    // Joins the PING sent after the one in flight: that one may have left before this call.
    this.nextSync ??= this.syncing.then(() => {
      this.nextSync = undefined
      this.syncing = this.ping()
      return this.syncing
    })
    return this.nextSync
  }

  private ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const answered = Promise.race([
      this.subscriber.ping().then(
        () => true,
        () => false,
      ),
      // A slow master must not hold requests up: they ask Redis instead.
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.owner.lateMs)
      }),
    ])
    void answered.then(() => {
      clearTimeout(timer)
      if (this.syncing === answered) this.syncing = undefined
    })
    return answered
  }

  private subscribe() {
    this.subscribing = true
    this.subscriber
      .subscribe(this.owner.channel)
      .then(() => {
        this.subscribed = true
        this.sendCanary()
      })
      .catch((err: Error) => {
        this.retryAt = performance.now() + SUBSCRIBE_RETRY_MS
        this.owner.warn({ err: { message: err.message } }, 'session changes: subscribe failed')
      })
      .finally(() => {
        this.subscribing = false
      })
  }

  private sendCanary() {
    const { message, seq } = this.owner.announcements.next()
    this.pending.set(seq, performance.now())
    // No connection to the master now: the canary cannot come back, and the check pauses the copy.
    this.publisher()
      ?.publish(this.owner.channel, message)
      .catch(() => {})
    // Checked after the poll phase that follows the timer, so a canary already waiting in the
    // socket (this process was busy, not Redis) is read first.
    setTimeout(() => setImmediate(() => this.checkArrived(seq)), this.owner.lateMs).unref()
  }

  private checkArrived(seq: number) {
    if (this.closed || !this.pending.delete(seq)) return
    this.prompt = false
    this.owner.linkDown(`canary not back within ${this.owner.lateMs} ms`)
    if (++this.lateInARow >= LATE_BEFORE_RECONNECT) {
      this.lateInARow = 0
      this.subscriber.disconnect(true)
    }
  }
}

/** Listens on the channel and keeps a {@link SessionCache} live only while every link is known to work. */
export class SessionChanges {
  readonly channel: string
  private readonly canaryMs: number
  readonly lateMs: number
  private links = new Map<string, Link>()
  /** The slot owners as last read (scanning the slot map costs about 0.1 ms). */
  private masters = new Map<string, Redis>()
  private onNodesChanged: (() => void) | undefined
  private onRefresh: (() => void) | undefined
  private lastSlotsRefresh = 0
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private readonly warnedAt = new Map<string, number>()

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly openSubscriber: SubscriberFactory,
    readonly announcements: ChangeAnnouncements,
    private readonly cache: SessionCache,
    private readonly log: ChangesLogger,
    timing: CanaryTiming = {},
  ) {
    this.channel = announcements.channel
    this.canaryMs = timing.canaryMs ?? 500
    this.lateMs = timing.lateMs ?? 250
  }

  /** Opens the links and starts the canaries. */
  start(): void {
    if (this.redis instanceof Cluster) {
      // A node joined, left or was reconnected: pause now; the next tick relinks.
      const cluster = this.redis
      this.onNodesChanged = () => {
        this.masters = mastersOf(cluster)
        // Resume only on a fresh canary on every link, through the pool's current connections.
        for (const link of this.links.values()) link.prompt = false
        this.linkDown('cluster nodes changed')
      }
      this.onRefresh = () => {
        this.masters = mastersOf(cluster)
      }
      cluster.on('+node', this.onNodesChanged)
      cluster.on('-node', this.onNodesChanged)
      cluster.on('refresh', this.onRefresh)
    }
    this.timer = setInterval(() => this.tick(), this.canaryMs)
    this.timer.unref()
    this.tick()
  }

  /** Stops the canaries and closes the links; the copy is emptied. */
  close(): void {
    this.closed = true
    clearInterval(this.timer)
    if (this.onNodesChanged) {
      this.redis.off('+node', this.onNodesChanged)
      this.redis.off('-node', this.onNodesChanged)
    }
    if (this.onRefresh) this.redis.off('refresh', this.onRefresh)
    this.cache.setLive(false)
    for (const link of this.links.values()) link.close()
    this.links.clear()
  }

  /**
   * Resolves true once every message each master sent before the call has been received; false
   * when that is not known within about `lateMs` (twice that at worst, behind a PING in flight).
   */
  async sync(): Promise<boolean> {
    const links = [...this.links.values()]
    if (links.length === 0) return false
    if (links.length === 1) return (links[0] as Link).sync()
    return (await Promise.all(links.map((link) => link.sync()))).every(Boolean)
  }

  /** The masters this instance publishes on and links (a cluster's slot owners; none for a single Redis). */
  currentMasters(): Redis[] {
    return [...this.masters.values()]
  }

  /** @internal A message heard on a link. */
  receive(link: Link, raw: string) {
    const first = raw.indexOf(':')
    const second = raw.indexOf(':', first + 1)
    if (first < 0 || second < 0) return
    const userId = raw.slice(second + 1)
    if (userId) {
      this.cache.forget(userId)
      return
    }
    if (raw.slice(0, first) === this.announcements.publisher)
      link.canaryBack(Number(raw.slice(first + 1, second)))
  }

  /** @internal A link's canary came back in time: the copy resumes once every link's has. */
  linkUp() {
    if (this.cache.isLive || this.closed || this.links.size === 0) return
    for (const link of this.links.values()) if (!link.subscribed || !link.prompt) return
    this.cache.setLive(true)
  }

  /** @internal A link failed: nothing is kept until every link works again. */
  linkDown(reason: string) {
    if (!this.cache.isLive) return
    this.cache.setLive(false)
    this.warn({ reason }, 'session changes: local sessions dropped; checking every request in Redis')
  }

  /** @internal Logs at most once per interval per message: a broken channel repeats itself. */
  warn(obj: object, msg: string) {
    const now = Date.now()
    if (now - (this.warnedAt.get(msg) ?? 0) < WARN_INTERVAL_MS) return
    this.warnedAt.set(msg, now)
    this.log.warn(obj, msg)
  }

  private tick() {
    if (this.closed) return
    this.followMasters()
    for (const link of this.links.values()) link.tick()
  }

  // One link per master; a cluster's masters change with failovers and resharding.
  private followMasters() {
    const redis = this.redis
    if (!(redis instanceof Cluster)) {
      if (this.links.size === 0) this.links.set('redis', new Link(this.openSubscriber(), () => redis, this))
      return
    }
    const now = performance.now()
    if (now - this.lastSlotsRefresh >= SLOTS_REFRESH_MS) {
      this.lastSlotsRefresh = now
      redis.refreshSlotsCache()
    }
    this.masters = mastersOf(redis)
    const masters = this.masters
    const same = masters.size === this.links.size && [...masters.keys()].every((key) => this.links.has(key))
    if (same) return
    // Until the new links work, an announcement published on a master not yet linked could be missed.
    this.linkDown('cluster masters changed')
    for (const [key, link] of this.links) {
      if (masters.has(key)) continue
      link.close()
      this.links.delete(key)
    }
    for (const [key, node] of masters) {
      if (this.links.has(key)) continue
      const { host, port } = node.options
      // The pool connects a node on its first command; canaries may be the first.
      if (node.status === 'wait') node.connect().catch(() => {})
      const publisher = () => this.masters.get(key)
      this.links.set(
        key,
        new Link(this.openSubscriber({ host: String(host), port: Number(port) }), publisher, this),
      )
    }
  }
}

/**
 * The masters that own slots, by `host:port`: the pool also holds the seed nodes (the
 * configuration endpoint) while the cluster (re)connects, which are not masters of anything.
 */
function mastersOf(cluster: Cluster): Map<string, Redis> {
  const owners = new Set<string>()
  for (const nodes of cluster.slots) if (nodes?.[0]) owners.add(nodes[0])
  const masters = new Map<string, Redis>()
  for (const node of cluster.nodes('master')) {
    const key = `${node.options.host}:${node.options.port}`
    if (owners.has(key)) masters.set(key, node)
  }
  return masters
}

/**
 * Publishes `message` on every master this instance knows, beside the script's own PUBLISH on the
 * user's master: a peer whose slot map lags (a shard just added) links masters this one knows
 * too, so it still hears the message directly before the change's answer goes out.
 */
export async function publishOnEveryMaster(
  nodes: Iterable<Redis>,
  channel: string,
  message: string,
  timeoutMs: number,
): Promise<number> {
  // Bounded: a stalled master must not hold every logout up for a command timeout; its
  // subscribers' canaries are late too, which pauses their copies.
  const outcomes = await Promise.all(
    [...nodes].map((node) => {
      if (node.status !== 'ready') return false
      let timer: NodeJS.Timeout | undefined
      const sent = Promise.race([
        node.publish(channel, message).then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs)
        }),
      ])
      return sent.finally(() => clearTimeout(timer))
    }),
  )
  return outcomes.filter((ok) => !ok).length
}

/** The masters of a cluster that own slots (none for a single Redis). */
export function clusterMasters(redis: Redis | Cluster): Redis[] {
  return redis instanceof Cluster ? [...mastersOf(redis).values()] : []
}
