/**
 * Wires the local copy of session checks into an app: the copy (session-cache.ts), the numbered
 * announcements every instance publishes, cache on or off (a peer may have it on), the subscriber
 * that keeps the copy honest (session-changes.ts), and the profile cache's announcer.
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.js'
import { createRedisSubscriber } from '../../platform/redis.js'
import { metrics } from '../../telemetry/metrics.js'
import { SessionCache } from './session-cache.js'
import {
  ChangeAnnouncements,
  clusterMasters,
  publishOnEveryMaster,
  SessionChanges,
  sessionChangesChannel,
} from './session-changes.js'
import type { SessionChangeOptions } from './sessions.js'

// A user's hash tag in a cache namespace (`profile:{<userId>}`): a write there changes what the
// local copy read along with the session.
const USER_TAG = /\{([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}/
const WARN_INTERVAL_MS = 10_000
// How long a change's answer waits for its announcement on the other masters.
const BROADCAST_TIMEOUT_MS = 250

/** Builds the local copy for `app` (needs `app.redis` and `app.cache`) and returns the session store's options. */
export function localSessions(
  app: FastifyInstance,
  redis: Config['redis'],
  maxAgeSeconds: number,
): SessionChangeOptions {
  const announcements = new ChangeAnnouncements(sessionChangesChannel(redis.keyPrefix))
  const local = new SessionCache({ maxAgeMs: maxAgeSeconds * 1000 })
  const userOf = (ns: string) => USER_TAG.exec(ns)?.[1]
  let changes: SessionChanges | undefined
  let lastBroadcastWarnAt = 0
  const broadcast = async (channel: string, message: string) => {
    const known = changes?.currentMasters() ?? []
    const nodes = known.length > 0 ? known : clusterMasters(app.redis)
    if (nodes.length === 0) return
    const failed = await publishOnEveryMaster(nodes, channel, message, BROADCAST_TIMEOUT_MS)
    if (failed === 0 || Date.now() - lastBroadcastWarnAt < WARN_INTERVAL_MS) return
    lastBroadcastWarnAt = Date.now()
    app.log.warn(
      { failed, masters: nodes.length },
      'session changes: an announcement did not reach every master in time; peers hear it over the cluster bus',
    )
  }
  app.cache.announceInvalidations({
    messageFor: (ns) => {
      const userId = userOf(ns)
      return userId
        ? { channel: announcements.channel, message: announcements.next(userId).message }
        : undefined
    },
    settle: (ns) => {
      const userId = userOf(ns)
      if (userId) local.forget(userId)
    },
    broadcast,
  })
  if (local.enabled) {
    let lastWarnAt = 0
    const openSubscriber = (node?: { host: string; port: number }) => {
      const subscriber = createRedisSubscriber(redis, node)
      subscriber.redis.on('error', (err: Error) => {
        metrics.redisError('subscriber')
        // Reconnect attempts repeat their error: once per interval is enough.
        if (Date.now() - lastWarnAt < WARN_INTERVAL_MS) return
        lastWarnAt = Date.now()
        app.log.warn({ err: { message: err.message } }, 'redis session-changes subscriber error')
      })
      return subscriber
    }
    changes = new SessionChanges(app.redis, openSubscriber, announcements, local, app.log)
    changes.start()
    const started = changes
    app.addHook('onClose', async () => started.close())
  }
  return {
    announcements,
    local,
    broadcast: (message) => broadcast(announcements.channel, message),
    ...(changes ? { sync: () => (changes as SessionChanges).sync() } : {}),
    onUnannounced: (userId) =>
      app.log.error(
        { userId, channel: announcements.channel },
        'Redis refused the announcement of a revocation: other instances may accept the session until their local copy expires (check the ACL allows the channel)',
      ),
  }
}
