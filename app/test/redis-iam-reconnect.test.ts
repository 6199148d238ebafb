/**
 * The IAM login against a real Redis 7 that checks it: the service's ACL user (REDIS_SERVICE_ACCESS_STRING)
 * accepts only the current token as its password, as ElastiCache accepts only a valid IAM token. A fake signer
 * stands in for SigV4 (redis-iam-token.test.ts checks the real one); the server changes the password when the
 * signer moves on, so a connection made with a stale token is refused.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { expect } from 'chai'
import { type Cluster, Redis } from 'ioredis'
import { freePort, waitUntil } from '../../scripts/kit/net.js'
import type { Config } from '../src/config.js'
import { createRedisClient } from '../src/platform/redis.js'
import { secureRedis as secure, serviceConnections } from './helpers/redis-acl.js'
import { redisBinariesAvailable, startRedisCluster } from './helpers/redis-cluster.js'

const TIMING = { refreshMs: 100, retryMs: 50 }

/** A signer whose token the test moves on, counting what it signed. */
function fakeSigner(first: string) {
  const state = { token: first, signed: [] as string[], fail: 0 }
  const sign = async () => {
    if (state.fail > 0) {
      state.fail--
      throw new Error('credentials endpoint unreachable')
    }
    state.signed.push(state.token)
    return state.token
  }
  return { state, sign }
}

function redisConfig(url: string, cluster: boolean): Config['redis'] {
  return {
    url,
    cluster,
    keyPrefix: '',
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
    iam: { replicationGroupId: 'blueprint-test-redis', region: 'us-east-1' },
  }
}

function ready(client: Redis | Cluster, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready after ${timeoutMs} ms (${client.status})`)),
      timeoutMs,
    )
    client.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

describe('Redis IAM login against a real Redis 7 (token as the ACL password)', function () {
  this.timeout(60_000)
  let server: ChildProcess | undefined
  let port = 0
  let admin: Redis
  const clients: (Redis | Cluster)[] = []

  before(async function () {
    if (!redisBinariesAvailable()) {
      console.log('      (redis-server not installed: skipped)')
      this.skip()
    }
    port = await freePort()
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    await waitUntil(
      'redis up',
      5000,
      async () => {
        const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
        probe.on('error', () => {})
        try {
          await probe.connect()
          return (await probe.ping()) === 'PONG'
        } catch {
          return false
        } finally {
          probe.disconnect()
        }
      },
      50,
    )
    admin = await secure(port, 'tok-1')
  })
  beforeEach(async () => {
    await admin.call('ACL', 'SETUSER', 'svc', 'resetpass', '>tok-1')
  })
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect()
  })
  after(() => {
    admin?.disconnect()
    server?.kill('SIGKILL')
  })

  it('AUTHs as the URL user with the signed token, then with the new token when it reconnects', async () => {
    const signer = fakeSigner('tok-1')
    const client = createRedisClient(redisConfig(`redis://svc@127.0.0.1:${port}`, false), {
      sign: signer.sign,
      timing: TIMING,
    }) as Redis
    clients.push(client)
    const errors: string[] = []
    client.on('error', (err: Error) => errors.push(err.message))
    await ready(client)
    await client.set('iam:k', 'v')
    expect(await serviceConnections(admin)).to.deep.equal(['svc'])
    expect(client.options.username).to.equal('svc')

    // The signer moves on (both tokens valid meanwhile, as IAM tokens overlap), then the server accepts only
    // tok-2 and the old connection is dropped.
    await admin.call('ACL', 'SETUSER', 'svc', '>tok-2')
    signer.state.token = 'tok-2'
    await waitUntil('tok-2 signed', 2000, () => signer.state.signed.includes('tok-2'), 20)
    await admin.call('ACL', 'SETUSER', 'svc', 'resetpass', '>tok-2')
    await admin.call('CLIENT', 'KILL', 'USER', 'svc')
    await waitUntil('reconnected', 5000, async () => (await serviceConnections(admin)).includes('svc'), 50)
    await ready(client)
    expect(await client.get('iam:k')).to.equal('v')
    expect(errors.filter((e) => /WRONGPASS|NOAUTH/.test(e))).to.deep.equal([])
  })

  it('authenticates its live connection again with each fresh token (ElastiCache cuts one 12 h after its AUTH)', async () => {
    const signer = fakeSigner('tok-1')
    const client = createRedisClient(redisConfig(`redis://svc@127.0.0.1:${port}`, false), {
      sign: signer.sign,
      timing: TIMING,
    }) as Redis
    clients.push(client)
    await ready(client)
    const id = await client.client('ID')
    const auths = async () => {
      const stats = String(await admin.info('commandstats'))
      return Number(/cmdstat_auth:calls=(\d+)/.exec(stats)?.[1] ?? 0)
    }
    const before = await auths()
    await waitUntil('two re-AUTHs', 3000, async () => (await auths()) >= before + 2, 50)
    // The same connection: refreshed in place, not reconnected.
    expect(await client.client('ID')).to.equal(id)
  })

  it('would be refused on reconnect with the token it first had (the control: a fixed password goes stale)', async () => {
    const stale = createRedisClient({
      ...redisConfig(`redis://svc:tok-1@127.0.0.1:${port}`, false),
      iam: undefined,
    })
    clients.push(stale)
    const errors: string[] = []
    stale.on('error', (err: Error) => errors.push(err.message))
    await ready(stale)
    await admin.call('ACL', 'SETUSER', 'svc', 'resetpass', '>tok-2')
    await admin.call('CLIENT', 'KILL', 'USER', 'svc')
    await waitUntil('refused', 5000, () => errors.some((e) => /WRONGPASS/.test(e)), 20)
  })

  it('reports a signing failure as an error event and retries; it never throws', async () => {
    const signer = fakeSigner('tok-1')
    signer.state.fail = 2
    const client = createRedisClient(redisConfig(`redis://svc@127.0.0.1:${port}`, false), {
      sign: signer.sign,
      timing: TIMING,
    }) as Redis
    clients.push(client)
    const errors: string[] = []
    client.on('error', (err: Error) => errors.push(err.message))
    await ready(client)
    expect(
      errors.filter((e) => e.includes('IAM token signing failed: credentials endpoint unreachable')),
    ).to.have.length(2)
    expect(await client.ping()).to.equal('PONG')
  })

  it('stops refreshing once the client is closed', async () => {
    const signer = fakeSigner('tok-1')
    const client = createRedisClient(redisConfig(`redis://svc@127.0.0.1:${port}`, false), {
      sign: signer.sign,
      timing: TIMING,
    }) as Redis
    client.on('error', () => {})
    await ready(client)
    await client.quit()
    const signedAtClose = signer.state.signed.length
    await new Promise((r) => setTimeout(r, 4 * TIMING.refreshMs))
    expect(signer.state.signed.length).to.be.at.most(signedAtClose + 1)
  })
})

describe('Redis IAM login in cluster mode: every node, on connect and on reconnect', function () {
  this.timeout(60_000)
  let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
  let admins: Redis[] = []
  const clients: (Redis | Cluster)[] = []

  before(async function () {
    if (!redisBinariesAvailable()) {
      console.log('      (redis-server not installed: cluster tests skipped)')
      this.skip()
    }
    cluster = await startRedisCluster()
    admins = await Promise.all(cluster.ports.map((p) => secure(p, 'tok-1')))
  })
  after(() => {
    for (const c of clients) c.disconnect()
    for (const a of admins) a.disconnect()
    cluster?.stop()
  })

  it('reaches keys on every node as the service user, and again after every connection was killed', async () => {
    const ports = cluster?.ports ?? []
    const signer = fakeSigner('tok-1')
    const url = ports.map((p) => `redis://svc@127.0.0.1:${p}`).join(',')
    const client = createRedisClient(redisConfig(url, true), { sign: signer.sign, timing: TIMING }) as Cluster
    clients.push(client)
    client.on('error', () => {})
    await ready(client, 10_000)
    // Enough keys that every node holds some (16384 slots over three masters).
    const keys = Array.from({ length: 30 }, (_, i) => `iam:cluster:${i}`)
    for (const k of keys) await client.set(k, k)
    for (const a of admins)
      expect(await serviceConnections(a), 'each node sees the service user').to.include('svc')

    for (const a of admins) await a.call('ACL', 'SETUSER', 'svc', 'resetpass', '>tok-2')
    signer.state.token = 'tok-2'
    await waitUntil('tok-2 signed', 2000, () => signer.state.signed.includes('tok-2'), 20)
    for (const a of admins) await a.call('CLIENT', 'KILL', 'USER', 'svc')

    // Nodes reconnect (or are recreated after a slot refresh) with tok-2; stale tok-1 would be WRONGPASS.
    await waitUntil(
      'all keys readable again',
      10_000,
      async () => {
        try {
          const values = await Promise.all(keys.map((k) => client.get(k)))
          return values.every((v, i) => v === keys[i])
        } catch {
          return false
        }
      },
      100,
    )
    for (const a of admins) expect(await serviceConnections(a)).to.include('svc')
  })

  it('delivers pub/sub on the notification channels through the cluster, under the service ACL', async () => {
    const ports = cluster?.ports ?? []
    const signer = fakeSigner('tok-2')
    const url = ports.map((p) => `redis://svc@127.0.0.1:${p}`).join(',')
    const sub = createRedisClient(redisConfig(url, true), { sign: signer.sign, timing: TIMING }) as Cluster
    const pub = createRedisClient(redisConfig(url, true), { sign: signer.sign, timing: TIMING }) as Cluster
    clients.push(sub, pub)
    for (const c of [sub, pub]) c.on('error', () => {})
    await Promise.all([ready(sub, 10_000), ready(pub, 10_000)])
    const got = new Promise<string>((resolve) =>
      sub.on('message', (_channel: string, m: string) => resolve(m)),
    )
    await sub.subscribe('notify:user-1')
    await pub.publish('notify:user-1', 'hello')
    expect(await got).to.equal('hello')
    // Channels outside the service's own are refused.
    let refused = ''
    await pub.publish('other:channel', 'x').catch((err: Error) => {
      refused = err.message
    })
    expect(refused).to.match(/NOPERM/)
  })
})
