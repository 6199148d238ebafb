/**
 * The service under exactly the ACL its ElastiCache user gets (REDIS_SERVICE_ACCESS_STRING, set by
 * infra/src/cache.ts), in cluster mode as in production and without a key prefix (the stacks set none): sessions
 * and their Lua scripts, rate limits, caches, notifications over pub/sub, health. A command or channel the ACL
 * forgot fails here, not in the first deploy.
 */
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { waitUntil } from '../../scripts/kit/net.js'
import type { NotificationMessage } from '../src/features/notifications/message.js'
import { buildTestApp, LogCapture } from './helpers/app.js'
import { secureRedis } from './helpers/redis-acl.js'
import { redisBinariesAvailable, startRedisCluster } from './helpers/redis-cluster.js'
import { bearer, login, uniqueEmail } from './helpers/users.js'

describe('the service under its ElastiCache ACL (REDIS_SERVICE_ACCESS_STRING, cluster mode)', function () {
  this.timeout(60_000)
  let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
  let admins: Redis[] = []
  let app: FastifyInstance

  before(async function () {
    if (!redisBinariesAvailable()) {
      console.log('      (redis-server not installed: skipped)')
      this.skip()
    }
    cluster = await startRedisCluster()
    admins = await Promise.all(cluster.ports.map((p) => secureRedis(p, 'svc-password')))
    app = await buildTestApp(env())
  })
  const env = () => ({
    REDIS_URL: (cluster?.ports ?? []).map((p) => `redis://svc:svc-password@127.0.0.1:${p}`).join(','),
    REDIS_CLUSTER: 'true',
    // Production sets no prefix: the ACL's channels (`notify:*`, `sessions:changed`) are written for that.
    REDIS_KEY_PREFIX: undefined,
    LOGIN_MAX_PER_ACCOUNT: '3',
  })
  after(async () => {
    await app?.close()
    for (const a of admins) a.disconnect()
    cluster?.stop()
  })

  it('reports ready (PING, and ioredis’ INFO ready check and CLUSTER SLOTS discovery are allowed)', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.json()).to.deep.equal({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } })
  })

  it('logs in, reads the profile, revokes every session and logs out (the session scripts run)', async () => {
    const first = await login(app)
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: first.email, password: first.password },
      })
      expect(res.statusCode).to.equal(200)
    }
    for (let i = 0; i < 2; i++) {
      const me = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(first.token) })
      expect(me.statusCode).to.equal(200)
    }
    const revoked = await app.inject({
      method: 'DELETE',
      url: '/v1/me/sessions',
      headers: bearer(first.token),
    })
    expect(revoked.statusCode).to.equal(200)
    expect(revoked.json().revoked).to.equal(3)
    const other = await login(app)
    const out = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(other.token) })
    expect(out.statusCode).to.equal(204)
    const after = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(other.token) })
    expect(after.statusCode).to.equal(401)
  })

  it('keeps the local copy of session checks live on every master, and announces revocations to other instances', async () => {
    const logs = new LogCapture()
    const other = await buildTestApp({ ...env(), LOG_LEVEL: 'warn' }, logs)
    try {
      await waitUntil('both copies live', 10_000, () =>
        [app, other].every((instance) => instance.sessions.localCopy?.isLive === true),
      )
      const user = await login(app)
      for (let i = 0; i < 3; i++) {
        const me = await other.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
        expect(me.statusCode).to.equal(200)
      }
      const out = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
      expect(out.statusCode).to.equal(204)
      const after = await other.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
      expect(after.statusCode).to.equal(401)
      const complaints = logs.raw.filter((line) => /session changes|refused the announcement/.test(line))
      expect(complaints, complaints.join('\n')).to.deep.equal([])
    } finally {
      await other.close()
    }
  })

  it('enforces rate limits (the rate-limit script runs)', async () => {
    const email = uniqueEmail()
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: 'wrong 1' },
      })
      statuses.push(res.statusCode)
    }
    expect(statuses).to.deep.equal([401, 401, 401, 429])
  })

  it('fans notifications out over pub/sub on its own channels', async () => {
    const { hub } = app.notifications
    const message: NotificationMessage = {
      id: '1',
      userId: 'acl-user',
      type: 'test.ping',
      payload: {},
      createdAt: new Date().toISOString(),
      readAt: null,
    }
    const received = new Promise<NotificationMessage>((resolve) => {
      void hub.subscribe('acl-user', resolve)
    })
    // The subscription is confirmed before subscribe resolves; publish after it.
    await new Promise((r) => setTimeout(r, 100))
    await hub.publish(message)
    expect((await received).type).to.equal('test.ping')
  })

  it('cannot run what it has no business running (admin and dangerous commands are refused)', async () => {
    for (const command of [
      ['FLUSHALL'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['KEYS', '*'],
      ['ACL', 'LIST'],
      ['CLUSTER', 'RESET'],
      ['CLUSTER', 'FORGET', 'x'],
    ]) {
      const [name, ...args] = command as [string, ...string[]]
      const err = await app.redis.call(name, ...args).then(
        () => undefined,
        (e: Error) => e,
      )
      expect(err?.message, command.join(' ')).to.match(/NOPERM/)
    }
  })
})
