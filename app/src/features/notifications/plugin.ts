/**
 * Notifications: the outbox relay loop, the Redis fan-out hub, the registry of open SSE streams
 * (closed before the server drains, so they never hold up a graceful shutdown) and `app.notify`.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { dependencyOf } from '../../platform/dependency-errors.js'
import { createRedisClient } from '../../platform/redis.js'
import { metrics } from '../../telemetry/metrics.js'
import { NotificationHub } from './hub.js'
import { type Db, type NotificationType, outboxLagSeconds, writeOutboxEvent } from './outbox.js'
import { pushBatch } from './push.js'
import { OutboxRelay } from './relay.js'

/** What the notifications plugin exposes as `app.notifications`. */
export interface Notifications {
  hub: NotificationHub
  relay: OutboxRelay
  config: Config['notifications']
  /** Closers of the SSE streams open on this instance. */
  streams: Set<() => void>
}

declare module 'fastify' {
  interface FastifyInstance {
    notifications: Notifications
    /**
     * Queues a notification for a user (persisted, then pushed to their open streams on any
     * instance). Pass `tx` inside `prisma.$transaction(async (tx) => ...)` so the notification
     * commits or rolls back with the change it announces.
     */
    notify(userId: string, type: NotificationType, payload: Record<string, unknown>, tx?: Db): Promise<void>
  }
}

/** Options of the notifications plugin. */
export interface NotificationsOptions {
  config: Config['notifications']
  redis: Config['redis']
}

async function notificationsPlugin(app: FastifyInstance, opts: NotificationsOptions) {
  const subscriber = createRedisClient(opts.redis)
  subscriber.on('error', (err: Error) => {
    metrics.redisError('subscriber')
    app.log.warn({ err: { message: err.message } }, 'redis subscriber error')
  })
  const hub = new NotificationHub(
    subscriber,
    app.redis,
    opts.redis.keyPrefix,
    app.log,
    opts.redis.connectTimeoutMs,
  )
  const relay = new OutboxRelay(
    () => app.db.writer,
    (batch) =>
      pushBatch(batch, hub, (userId) =>
        app.invalidateUserReports(userId).catch((err: Error) => {
          app.log.warn({ err: { message: err.message }, userId }, 'reports not invalidated before a push')
          throw err
        }),
      ),
    opts.config.relay,
    app.log.child({ component: 'outbox-relay' }),
    // A writer lost under the relay: find the new one now, not at the next poll (an instance
    // without request traffic would otherwise wait for it).
    (err) => {
      if (dependencyOf(err) === 'postgres') app.db.recheckSoon()
    },
  )
  const streams = new Set<() => void>()
  app.decorate('notifications', { hub, relay, config: opts.config, streams })

  app.decorate(
    'notify',
    async (userId: string, type: NotificationType, payload: Record<string, unknown>, tx?: Db) => {
      await writeOutboxEvent(tx ?? app.prisma, userId, type, payload)
      // Inside a caller's transaction the row is not visible yet; the next tick picks it up.
      if (!tx) relay.kick()
    },
  )

  const unobserve = [
    metrics.sseConnections(() => streams.size),
    metrics.outboxLag(() => outboxLagSeconds(app.prisma)),
  ]
  app.addHook('onReady', async () => {
    if (opts.config.relay.enabled) relay.start()
  })
  // Before the server stops accepting and drains: an open stream would otherwise keep it waiting
  // until the shutdown deadline. Clients reconnect (to another instance) with Last-Event-ID.
  app.addHook('preClose', async () => {
    for (const close of [...streams]) close()
  })
  app.addHook('onClose', async () => {
    for (const stop of unobserve) stop()
    await relay.stop()
    await hub.close()
  })
}

export default fp(notificationsPlugin, {
  name: 'notifications',
  fastify: '5.x',
  dependencies: ['prisma', 'redis'],
})
