import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { sleep, waitUntil } from '../../../scripts/kit/net.js'
import { SessionCache } from '../../src/features/auth/session-cache.js'
import { SessionChanges, sessionChangesChannel } from '../../src/features/auth/session-changes.js'
import { type Session, sessionIdOf, sessionKeys } from '../../src/features/auth/sessions.js'
import { buildTestApp } from '../helpers/app.js'
import { freshRedisPrefix, services } from '../helpers/services.js'
import { bearer, login } from '../helpers/users.js'

const USER = '0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d'
const session = (id: string, userId = USER): Session => ({
  id,
  userId,
  role: 'user',
  mfa: false,
  createdAt: new Date(0),
  expiresAt: new Date(60_000),
})

describe('session cache: the local copy', () => {
  let now = 0
  const cache = (maxAgeMs = 10_000, maxEntries?: number) => {
    const c = new SessionCache({ maxAgeMs, now: () => now, ...(maxEntries ? { maxEntries } : {}) })
    c.setLive(true)
    return c
  }
  beforeEach(() => {
    now = 1_000_000
  })

  it('serves an entry until its maximum age, then asks again', () => {
    const c = cache(10_000)
    c.remember(c.ticket(), session('a'), 1_800_000)
    now += 9_999
    expect(c.lookup('a')?.userId).to.equal(USER)
    now += 1
    expect(c.lookup('a')).to.equal(undefined)
  })

  it('never serves past half of what was left of the idle expiry, so a session in use is slid in time', () => {
    const c = cache(10_000)
    c.remember(c.ticket(), session('a'), 2_000)
    now += 999
    expect(c.lookup('a')).not.to.equal(undefined)
    now += 1
    expect(c.lookup('a')).to.equal(undefined)
  })

  it('refuses an answer whose user was dropped while the check was in flight', () => {
    const c = cache()
    const ticket = c.ticket()
    c.forget(USER)
    c.remember(ticket, session('a'), 60_000)
    expect(c.lookup('a')).to.equal(undefined)
    // A check that started after the drop is kept.
    c.remember(c.ticket(), session('a'), 60_000)
    expect(c.lookup('a')).not.to.equal(undefined)
  })

  it('keeps answers of other users whose checks overlapped a drop', () => {
    const c = cache()
    const ticket = c.ticket()
    c.forget('0190a3c4-0000-7000-8000-000000000000')
    c.remember(ticket, session('a'), 60_000)
    expect(c.lookup('a')).not.to.equal(undefined)
  })

  it('refuses every answer in flight across a flush, and keeps nothing while paused', () => {
    const c = cache()
    const ticket = c.ticket()
    c.setLive(false)
    c.remember(c.ticket(), session('b'), 60_000)
    expect(c.size).to.equal(0)
    c.setLive(true)
    c.remember(ticket, session('a'), 60_000)
    expect(c.lookup('a')).to.equal(undefined)
  })

  it('refuses an answer that took longer than any Redis command may', () => {
    const c = cache()
    const ticket = c.ticket()
    now += 5_001
    c.remember(ticket, session('a'), 60_000)
    expect(c.size).to.equal(0)
  })

  it('forgets all of a user’s sessions at once', () => {
    const c = cache()
    c.remember(c.ticket(), session('a'), 60_000)
    c.remember(c.ticket(), session('b'), 60_000)
    c.remember(c.ticket(), session('c', '0190a3c4-0000-7000-8000-000000000001'), 60_000)
    c.forget(USER)
    expect([c.lookup('a'), c.lookup('b')]).to.deep.equal([undefined, undefined])
    expect(c.lookup('c')).not.to.equal(undefined)
  })

  it('serves read-along values only to a route that asked for the same keys', () => {
    const c = cache()
    c.remember(c.ticket(), { ...session('a'), alongside: ['1', '["1",{}]'] }, 60_000, 'k1\nk2')
    expect(c.lookup('a', 'k1\nk2')?.alongside).to.deep.equal(['1', '["1",{}]'])
    expect(c.lookup('a', 'other')).to.equal(undefined)
    expect(c.lookup('a')).not.to.equal(undefined)
    // A later check without the keys does not take them away from the route that reads them.
    c.remember(c.ticket(), session('a'), 60_000)
    expect(c.lookup('a', 'k1\nk2')).not.to.equal(undefined)
  })

  it('holds at most maxEntries, dropping the oldest first', () => {
    const c = cache(10_000, 3)
    for (const id of ['a', 'b', 'c', 'd']) c.remember(c.ticket(), session(id), 60_000)
    expect(c.size).to.equal(3)
    expect(c.lookup('a')).to.equal(undefined)
    expect(c.lookup('d')).not.to.equal(undefined)
  })

  it('is off with a maximum age of 0', () => {
    const c = cache(0)
    expect(c.isLive).to.equal(false)
    c.remember(c.ticket(), session('a'), 60_000)
    expect(c.lookup('a')).to.equal(undefined)
  })
})

describe('session cache: the changes channel', () => {
  const clients: Redis[] = []
  const connect = async () => {
    const client = new Redis(services.redisUrl, { lazyConnect: true })
    await client.connect()
    clients.push(client)
    return client
  }
  const quiet = { warn() {}, info() {} }
  after(() => {
    for (const c of clients) c.disconnect()
  })

  async function started(timing = { canaryMs: 100, graceMs: 300 }) {
    const channel = sessionChangesChannel(freshRedisPrefix())
    const local = new SessionCache({ maxAgeMs: 10_000 })
    const subscriber = await connect()
    const publisher = await connect()
    const changes = new SessionChanges(subscriber, publisher, channel, local, quiet, timing)
    changes.start()
    await waitUntil('cache live', 2000, () => local.isLive)
    return { channel, local, subscriber, publisher, changes }
  }

  it('goes live once its own canary comes back, and drops a user when their id is published', async () => {
    const { channel, local, publisher, changes } = await started()
    local.remember(local.ticket(), session('a'), 60_000)
    expect(local.lookup('a')).not.to.equal(undefined)
    await publisher.publish(channel, USER)
    await waitUntil('entry dropped', 2000, () => local.lookup('a') === undefined)
    changes.close()
  })

  it('empties and pauses when its canary stops arriving, then resumes when it does again', async () => {
    const { channel, local, subscriber, publisher, changes } = await started()
    local.remember(local.ticket(), session('a'), 60_000)
    // The subscription silently stops delivering (as a cluster subscriber moving nodes may):
    // no connection event tells the instance.
    await subscriber.unsubscribe(channel)
    // An announcement this instance never hears.
    await publisher.publish(channel, USER)
    await waitUntil('paused by the canary', 2000, () => !local.isLive)
    expect(local.size).to.equal(0)
    await subscriber.subscribe(channel)
    await waitUntil('live again', 2000, () => local.isLive)
    expect(local.lookup('a')).to.equal(undefined)
    changes.close()
  })

  it('empties at once when the subscriber connection drops', async () => {
    const { local, subscriber, changes } = await started({ canaryMs: 10_000, graceMs: 30_000 })
    local.remember(local.ticket(), session('a'), 60_000)
    const id = await subscriber.client('ID')
    const killer = await connect()
    await killer.client('KILL', 'ID', String(id))
    await waitUntil('paused by the close', 2000, () => !local.isLive)
    expect(local.size).to.equal(0)
    changes.close()
  })
})

describe('session cache: across instances', () => {
  let a: FastifyInstance
  let b: FastifyInstance
  const prefix = freshRedisPrefix()

  before(async () => {
    a = await buildTestApp({ REDIS_KEY_PREFIX: prefix })
    b = await buildTestApp({ REDIS_KEY_PREFIX: prefix })
    await waitUntil('local copies live', 3000, () =>
      [a, b].every((app) => app.sessions.localCopy?.isLive === true),
    )
  })
  after(async () => {
    await Promise.all([a?.close(), b?.close()])
  })

  /** The Redis commands `app` sends that name `userId` while `work` runs. */
  async function commandsOf(app: FastifyInstance, userId: string, work: () => Promise<unknown>) {
    const redis = app.redis as unknown as { sendCommand: (...args: unknown[]) => unknown }
    const original = redis.sendCommand
    const seen: string[] = []
    redis.sendCommand = function (this: unknown, ...args: unknown[]) {
      const command = args[0] as { name?: string; args?: unknown[] }
      // The outbox relay may publish the login's security notice at any moment: not the request's.
      if ((command.args ?? []).some((arg) => String(arg).includes(userId)) && command.name !== 'publish')
        seen.push(String(command.name))
      return original.apply(this, args)
    }
    try {
      await work()
    } finally {
      redis.sendCommand = original
    }
    return seen
  }
  const me = (app: FastifyInstance, token: string) =>
    app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) })

  /** Warms `app`'s copy: the profile is loaded, then read along and kept. */
  async function warm(app: FastifyInstance, token: string, userId: string) {
    for (let i = 0; i < 3; i++) expect((await me(app, token)).statusCode).to.equal(200)
    expect(await commandsOf(app, userId, () => me(app, token))).to.deep.equal([])
  }

  it('answers a busy client’s GET /v1/me without a Redis command', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const res = await me(a, user.token)
    expect(res.json()).to.include({ id: user.user.id, email: user.email })
  })

  it('a logout on one instance is refused by another holding the session, at once', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const out = await b.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
    expect(out.statusCode).to.equal(204)
    expect((await me(a, user.token)).statusCode).to.equal(401)
  })

  it('revoking every session on one instance is seen by another at once', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const res = await b.inject({ method: 'DELETE', url: '/v1/me/sessions', headers: bearer(user.token) })
    expect(res.statusCode).to.be.oneOf([200, 204])
    expect((await me(a, user.token)).statusCode).to.equal(401)
  })

  it('a profile change on one instance is read by another at once', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const patch = await b.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { name: 'Ada Lovelace' },
    })
    expect(patch.statusCode).to.equal(200)
    expect((await me(a, user.token)).json().name).to.equal('Ada Lovelace')
  })

  it('the instance that changed a profile reads its own write', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const patch = await a.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { name: 'Grace Hopper' },
    })
    expect(patch.statusCode).to.equal(200)
    expect((await me(a, user.token)).json().name).to.equal('Grace Hopper')
  })

  it('a session removed from Redis without an announcement is served for at most the local maximum age', async () => {
    const short = await buildTestApp({ SESSION_LOCAL_CACHE_SECONDS: '1' })
    try {
      await waitUntil('live', 3000, () => short.sessions.localCopy?.isLive === true)
      const user = await login(short)
      await warm(short, user.token, user.user.id)
      await short.redis.del(sessionKeys.session(user.user.id, sessionIdOf(user.token)))
      // Only announced changes reach the copy: an operator deleting keys by hand waits out the age.
      expect((await me(short, user.token)).statusCode).to.equal(200)
      await sleep(1100)
      expect((await me(short, user.token)).statusCode).to.equal(401)
    } finally {
      await short.close()
    }
  })

  it('a session in steady use keeps sliding although most checks are answered locally', async () => {
    const short = await buildTestApp({ SESSION_TTL_SECONDS: '2' })
    try {
      await waitUntil('live', 3000, () => short.sessions.localCopy?.isLive === true)
      const user = await login(short)
      let redisChecks = 0
      const started = Date.now()
      while (Date.now() - started < 4500) {
        const sent = await commandsOf(short, user.user.id, async () => {
          expect((await me(short, user.token)).statusCode).to.equal(200)
        })
        if (sent.includes('evalsha') || sent.includes('eval')) redisChecks++
        await sleep(100)
      }
      // About 40 requests; the copy lives at most half of the 2 s idle expiry, so Redis saw a few.
      expect(redisChecks).to.be.within(2, 20)
      await sleep(2100)
      expect((await me(short, user.token)).statusCode).to.equal(401)
    } finally {
      await short.close()
    }
  })

  it('checks every request in Redis with SESSION_LOCAL_CACHE_SECONDS=0', async () => {
    const off = await buildTestApp({ SESSION_LOCAL_CACHE_SECONDS: '0' })
    try {
      const user = await login(off)
      for (let i = 0; i < 3; i++) await me(off, user.token)
      expect(await commandsOf(off, user.user.id, () => me(off, user.token))).to.have.length(1)
      expect(off.sessions.localCopy?.isLive).to.equal(false)
    } finally {
      await off.close()
    }
  })
})
