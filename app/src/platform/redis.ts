import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../config.js'
import { metrics } from '../telemetry/metrics.js'
import { iamTokenSigner, keepIamPassword, type RedisTokenSigner, type RefreshTiming } from './redis-iam.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Redis (single node or cluster). In cluster mode keep multi-key commands within one hash slot. */
    redis: Redis | Cluster
  }
}

/**
 * Redis client (single node or cluster) as `app.redis`, closed with the app.
 *
 * Commands fail fast while Redis is unreachable (no offline queue, command timeout) so requests
 * answer 503 within about a second; ioredis keeps reconnecting in the background, so the service
 * recovers by itself. In cluster mode every multi-key command must stay within one hash slot.
 *
 * With `config.iam` (ElastiCache) every connection AUTHs as the URL's user with a fresh IAM token (redis-iam.ts);
 * the client connects once the first token is signed. Without it, the URL's password, if any. Tests pass their
 * own signer and timing.
 */
export function createRedisClient(
  config: Config['redis'],
  iamOptions: { sign?: RedisTokenSigner; timing?: RefreshTiming } = {},
): Redis | Cluster {
  return connect(config, iamOptions, false).client
}

/**
 * A plain connection for SUBSCRIBE: to `node` (a cluster master, as ioredis' cluster reports it),
 * or to the configured Redis. Unlike ioredis' cluster subscriber, which moves between nodes without
 * telling, it emits `close` and `reconnecting` when its connection goes.
 */
export function createRedisSubscriber(
  config: Config['redis'],
  node?: { host: string; port: number },
  iamOptions: { sign?: RedisTokenSigner; timing?: RefreshTiming } = {},
): { redis: Redis; close(): void } {
  let url = config.url.split(',')[0]?.trim() ?? config.url
  if (node) {
    const at = new URL(url)
    // An IPv6 address is only taken in brackets (URL ignores it silently otherwise).
    at.hostname = node.host.includes(':') ? `[${node.host}]` : node.host
    at.port = String(node.port)
    url = at.toString()
  }
  const { client, stop } = connect({ ...config, url, cluster: false }, iamOptions, true)
  return {
    redis: client as Redis,
    // A disconnect while reconnecting emits no `end`, which is what stops the token refresh.
    close: () => {
      stop()
      client.disconnect()
    },
  }
}

function connect(
  config: Config['redis'],
  iamOptions: { sign?: RedisTokenSigner; timing?: RefreshTiming },
  subscriber: boolean,
): { client: Redis | Cluster; stop: () => void } {
  const common: RedisOptions = {
    keyPrefix: config.keyPrefix || undefined,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Commands issued in the same event-loop turn leave in one write: under load, one system call
    // carries the session checks of many requests instead of one each.
    // A subscriber's PINGs order it after the messages before them: nothing may hold them back.
    enableAutoPipelining: !subscriber,
    // A batch's commands are sent in the context of its first: a background PUBLISH (the session
    // changes' canary, twice a second) leading a batch would take requests' spans out of their traces.
    autoPipeliningIgnoredCommands: ['publish'],
    // Reconnect forever, backing off to at most 2 s between attempts.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  }
  const urls = config.url.split(',').map((u) => new URL(u.trim()))
  const first = urls[0] as URL
  const username = decodeURIComponent(first.username) || undefined
  const auth = {
    username,
    password: config.iam ? undefined : decodeURIComponent(first.password) || undefined,
    tls: first.protocol === 'rediss:' ? {} : undefined,
  }
  const iam = config.iam
  const client = newClient(config, common, auth, urls, Boolean(iam))
  let stop = () => {}
  if (iam) {
    const sign = iamOptions.sign ?? iamTokenSigner({ ...iam, userId: username ?? '' })
    // A subscribed connection may not AUTH again (RESP2); it takes the fresh token when it reconnects.
    stop = keepIamPassword(client, sign, iamOptions.timing, { reauthenticate: !subscriber })
  }
  return { client, stop }
}

function newClient(
  config: Config['redis'],
  common: RedisOptions,
  auth: Pick<RedisOptions, 'username' | 'password' | 'tls'>,
  urls: URL[],
  lazyConnect: boolean,
): Redis | Cluster {
  const first = urls[0] as URL
  if (!config.cluster) {
    const db = Number(first.pathname.slice(1) || 0)
    return new Redis({
      ...common,
      ...auth,
      host: first.hostname,
      port: Number(first.port || 6379),
      db,
      lazyConnect,
    })
  }
  return new Cluster(
    urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      keyPrefix: common.keyPrefix,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      autoPipeliningIgnoredCommands: common.autoPipeliningIgnoredCommands,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      // ElastiCache's TLS certificates name the configuration endpoint, not the node IPs.
      dnsLookup: (address, callback) => callback(null, address),
      slotsRefreshTimeout: config.connectTimeoutMs,
      redisOptions: { ...common, ...auth, keyPrefix: undefined },
      lazyConnect,
    },
  )
}

/**
 * Decorates `app.redis`. Not @fastify/redis: it holds the boot until Redis is ready, and the
 * service must start (and report not-ready) while Redis is away.
 */
async function redisPlugin(app: FastifyInstance, opts: { config: Config['redis'] }) {
  const client = createRedisClient(opts.config)
  // Logged, not thrown: an unreachable Redis must not crash the process (readiness reports it).
  let lastError = ''
  client.on('error', (err: Error) => {
    metrics.redisError('main')
    // Reconnect attempts repeat the same error; log each distinct one once.
    if (err.message !== lastError) app.log.warn({ err: { message: err.message } }, 'redis error')
    lastError = err.message
  })
  client.on('ready', () => {
    lastError = ''
  })
  app.decorate<Redis | Cluster>('redis', client)
  app.addHook('onClose', async () => {
    await client.quit().catch(() => client.disconnect())
  })
  await waitUntilReady(client, opts.config.connectTimeoutMs).catch((err: Error) => {
    app.log.warn({ err: { message: err.message } }, 'redis not reachable at startup; continuing')
  })
}

function waitUntilReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs)
    const onReady = () => done()
    function done(err?: Error) {
      clearTimeout(timer)
      client.off('ready', onReady)
      err ? reject(err) : resolve()
    }
    client.on('ready', onReady)
  })
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' })
