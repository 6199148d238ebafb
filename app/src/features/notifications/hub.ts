/**
 * Fan-out of published notifications to the streams open on this instance. One dedicated Redis
 * connection (a subscribed connection can run no other command) subscribes to one channel per
 * user with a local stream, so an instance only receives what its own clients need. Works the
 * same against a Redis Cluster: classic PUBLISH reaches subscribers on every node.
 */
import { SpanKind } from '@opentelemetry/api'
import type { FastifyBaseLogger } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { DependencyUnavailableError } from '../../platform/errors.js'
import { inRootSpan } from '../../telemetry/tracing.js'
import type { NotificationMessage } from './message.js'

// KEYS[1] only routes the call (the user's channel name as a key); ARGV: channel, message.
const PUBLISH_FROM_SLOT_OWNER = "return redis.call('PUBLISH', ARGV[1], ARGV[2])"

// A user's channel without the key prefix: as a key, ioredis adds the prefix and it names the channel.
const channelKey = (userId: string) => `notify:${userId}`

type Published = (Redis | Cluster) & {
  notifyPublish(routingKey: string, channel: string, message: string): Promise<number>
}

/** Receives the notifications of one user. */
export type Listener = (message: NotificationMessage) => void

/** Local registry of listeners plus the Redis subscriptions behind them. */
export class NotificationHub {
  private readonly listeners = new Map<string, Set<Listener>>()

  constructor(
    private readonly subscriber: Redis | Cluster,
    private readonly publisher: Redis | Cluster,
    /** Channel names are not covered by ioredis' keyPrefix, so the prefix is added here. */
    private readonly channelPrefix: string,
    private readonly log: FastifyBaseLogger,
    /** How long a subscription waits for the subscriber connection to (re)connect. */
    private readonly readyTimeoutMs = 1000,
  ) {
    subscriber.on('message', (channel: string, raw: string) => this.deliver(channel, raw))
    // Defined before any use: an auto-pipelined batch created before a definition lacks it.
    if (!('notifyPublish' in publisher)) {
      publisher.defineCommand('notifyPublish', { numberOfKeys: 1, lua: PUBLISH_FROM_SLOT_OWNER })
    }
  }

  /** The Redis channel carrying one user's notifications. */
  channelOf(userId: string): string {
    return `${this.channelPrefix}${channelKey(userId)}`
  }

  /** Publishes a notification to every instance. */
  async publish(message: NotificationMessage): Promise<void> {
    await this.publishJson(message.userId, JSON.stringify(message))
  }

  /**
   * Publishes a notification already serialized (the wire shape of message.ts, as JSON). Through a
   * one-line script keyed by the user's channel name: PUBLISH names no key, so a cluster client
   * sends each to any master, and two of one user's messages could reach a stream in the wrong
   * order over the cluster bus. Keyed, every message of a user leaves from the master that owns
   * that slot, in the order sent.
   */
  async publishJson(userId: string, json: string): Promise<void> {
    await (this.publisher as Published).notifyPublish(channelKey(userId), this.channelOf(userId), json)
  }

  /** Registers a listener; resolves once Redis confirmed the subscription. Returns the unsubscribe. */
  async subscribe(userId: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(userId)
    if (!set) {
      set = new Set()
      this.listeners.set(userId, set)
    }
    set.add(listener)
    const remove = () => this.remove(userId, listener)
    try {
      await this.connected()
      // Repeating SUBSCRIBE for a channel is harmless, and it confirms the subscription is live.
      await this.subscriber.subscribe(this.channelOf(userId))
    } catch (err) {
      remove()
      throw new DependencyUnavailableError('redis', err)
    }
    return remove
  }

  /** Number of local listeners (for tests and metrics). */
  get size(): number {
    let n = 0
    for (const set of this.listeners.values()) n += set.size
    return n
  }

  /** Closes the subscriber connection. */
  async close(): Promise<void> {
    this.listeners.clear()
    this.subscriber.disconnect()
  }

  /** Resolves once the subscriber connection is usable: it has no offline queue to hide behind. */
  private connected(): Promise<void> {
    if (this.subscriber.status === 'ready') return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.subscriber.off('ready', onReady)
        reject(new Error(`redis subscriber not ready after ${this.readyTimeoutMs} ms`))
      }, this.readyTimeoutMs)
      const onReady = () => {
        clearTimeout(timer)
        resolve()
      }
      this.subscriber.once('ready', onReady)
    })
  }

  private remove(userId: string, listener: Listener): void {
    const set = this.listeners.get(userId)
    if (!set?.delete(listener) || set.size > 0) return
    this.listeners.delete(userId)
    // Commands on one connection run in order, so a later SUBSCRIBE for this user still wins.
    this.subscriber.unsubscribe(this.channelOf(userId)).catch(() => {})
  }

  private deliver(channel: string, raw: string): void {
    const userId = channel.slice(this.channelOf('').length)
    const set = this.listeners.get(userId)
    if (!set) return
    let message: NotificationMessage
    try {
      message = JSON.parse(raw) as NotificationMessage
    } catch {
      this.log.warn({ channel }, 'unreadable notification message dropped')
      return
    }
    // Its own trace: the publishing side (relay) is another process's work.
    inRootSpan('sse.deliver', { kind: SpanKind.CONSUMER, attributes: { 'sse.listeners': set.size } }, () => {
      for (const listener of set) listener(message)
    })
  }
}
