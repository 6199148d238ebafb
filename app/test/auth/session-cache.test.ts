import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { sleep, waitUntil } from '../../../scripts/kit/net.js'
import { setUserRole } from '../../src/features/auth/roles.js'
import { MAX_ALONGSIDE_BYTES, SessionCache } from '../../src/features/auth/session-cache.js'
import {
  type CanaryTiming,
  ChangeAnnouncements,
  publishOnEveryMaster,
  SessionChanges,
  sessionChangesChannel,
} from '../../src/features/auth/session-changes.js'
import { type Session, SessionStore, sessionIdOf, sessionKeys } from '../../src/features/auth/sessions.js'
import { buildTestApp } from '../helpers/app.js'
import { isPush, redisCommandsDuring } from '../helpers/redis-commands.js'
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

  it('counts an entry’s age from when its check was sent, not from when Redis answered', () => {
    const c = cache(10_000)
    const ticket = c.ticket()
    now += 1_000
    c.remember(ticket, session('a'), 1_800_000)
    now += 8_999
    expect(c.lookup('a')).not.to.equal(undefined)
    now += 1
    expect(c.lookup('a')).to.equal(undefined)
  })

  it('does not keep large read-along values, and evicts the oldest beyond its byte budget', () => {
    const c = new SessionCache({ maxAgeMs: 10_000, maxBytes: 3 * 4_000, now: () => now })
    c.setLive(true)
    const big = 'x'.repeat(MAX_ALONGSIDE_BYTES + 1)
    c.remember(c.ticket(), { ...session('big'), alongside: ['1', big] }, 60_000, 'k')
    expect(c.lookup('big', 'k')).to.equal(undefined)
    expect(c.lookup('big')?.alongside).to.equal(undefined)
    const fits = 'y'.repeat(3_000)
    for (const id of ['a', 'b', 'c', 'd'])
      c.remember(c.ticket(), { ...session(id), alongside: ['1', fits] }, 60_000, 'k')
    expect(c.sizeBytes).to.be.at.most(3 * 4_000)
    expect(c.lookup('a', 'k')).to.equal(undefined)
    expect(c.lookup('d', 'k')).not.to.equal(undefined)
  })

  it('is off with a maximum age of 0', () => {
    const c = cache(0)
    expect(c.isLive).to.equal(false)
    c.remember(c.ticket(), session('a'), 60_000)
    expect(c.lookup('a')).to.equal(undefined)
  })
})

// Busy-waits 300 ms inside Redis: every client, subscribers included, waits behind it.
const STALL_300_MS = `
local s = redis.call('TIME')
local start = tonumber(s[1]) * 1000000 + tonumber(s[2])
while true do
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000000 + tonumber(t[2]) - start > 300000 then return 1 end
end`

describe('session cache: the changes channel', () => {
  const clients: Redis[] = []
  const connect = async () => {
    const client = new Redis(services.redisUrl, { lazyConnect: true })
    await client.connect()
    clients.push(client)
    return client
  }
  const warnings: string[] = []
  const log = { warn: (obj: object, msg: string) => warnings.push(`${msg} ${JSON.stringify(obj)}`) }
  after(() => {
    for (const c of clients) c.disconnect()
  })

  async function started(timing: CanaryTiming = { canaryMs: 100, lateMs: 50 }) {
    warnings.length = 0
    const announcements = new ChangeAnnouncements(sessionChangesChannel(freshRedisPrefix()))
    const local = new SessionCache({ maxAgeMs: 10_000 })
    const subscriber = await connect()
    const publisher = await connect()
    const handle = { redis: subscriber, close: () => subscriber.disconnect() }
    const changes = new SessionChanges(publisher, () => handle, announcements, local, log, timing)
    changes.start()
    await waitUntil('cache live', 2000, () => local.isLive)
    const { channel } = announcements
    return { channel, announcements, local, subscriber, publisher, changes }
  }

  it('goes live once its own canary comes back, and drops a user when an announcement names them', async () => {
    const { channel, announcements, local, publisher, changes } = await started()
    local.remember(local.ticket(), session('a'), 60_000)
    expect(local.lookup('a')).not.to.equal(undefined)
    await publisher.publish(channel, announcements.next(USER).message)
    await waitUntil('entry dropped', 2000, () => local.lookup('a') === undefined)
    expect(local.isLive).to.equal(true)
    changes.close()
  })

  it('sync resolves only after every announcement published before it was applied', async () => {
    const { channel, announcements, local, publisher, changes } = await started({
      canaryMs: 10_000,
      lateMs: 5_000,
    })
    for (let round = 0; round < 20; round++) {
      local.remember(local.ticket(), session('a'), 60_000)
      await publisher.publish(channel, announcements.next(USER).message)
      expect(await changes.sync()).to.equal(true)
      expect(local.lookup('a'), `round ${round}`).to.equal(undefined)
    }
    changes.close()
  })

  it('sync waits for a PING sent after it was called, not for one already in flight', async () => {
    const { subscriber, changes } = await started({ canaryMs: 10_000, lateMs: 2_000 })
    const calls: string[] = []
    const ping = subscriber.ping.bind(subscriber)
    subscriber.ping = (() => {
      calls.push('ping')
      return ping()
    }) as typeof subscriber.ping
    calls.push('sync 1')
    const inFlight = changes.sync()
    // The first PING may have left before a peer's logout this request follows: it cannot answer for it.
    calls.push('sync 2')
    const mine = changes.sync()
    calls.push('sync 3')
    const third = changes.sync()
    expect(await Promise.all([inFlight, mine, third])).to.deep.equal([true, true, true])
    // Callers that came while one PING was out share the next one.
    expect(calls).to.deep.equal(['sync 1', 'ping', 'sync 2', 'sync 3', 'ping'])
    changes.close()
  })

  it('sync gives up when the subscriber is slow, so a request asks Redis instead of waiting', async () => {
    const { changes, local } = await started()
    const stall = await connect()
    const stalled = stall.eval(STALL_300_MS, 0)
    await sleep(20)
    // The PING's answer comes after the 300 ms stall; sync answers false after its 50 ms.
    expect(await changes.sync()).to.equal(false)
    await stalled
    // Late canaries in a row reconnect the subscriber; once it is back, sync answers again.
    await waitUntil('live again', 3000, () => local.isLive)
    expect(await changes.sync()).to.equal(true)
    changes.close()
  })

  it('pauses when its canary comes back late, and only a prompt one brings it back', async () => {
    const { local, changes } = await started()
    local.remember(local.ticket(), session('a'), 60_000)
    // The whole server stalls for 300 ms (a busy script), so canaries and announcements arrive late.
    const stall = await connect()
    await stall.eval(STALL_300_MS, 0)
    expect(warnings.join('\n')).to.match(/canary not back within 50 ms/)
    expect(local.lookup('a')).to.equal(undefined)
    // The canaries delayed by the stall have just arrived, late: they do not resume the copy.
    expect(local.isLive).to.equal(false)
    await waitUntil('live again', 2000, () => local.isLive)
    changes.close()
  })

  it('pauses when the subscription silently stops delivering, and resumes when it delivers again', async () => {
    const { channel, local, subscriber, changes } = await started()
    local.remember(local.ticket(), session('a'), 60_000)
    await subscriber.unsubscribe(channel)
    await waitUntil('paused by the canary', 2000, () => !local.isLive)
    expect(local.size).to.equal(0)
    await subscriber.subscribe(channel)
    await waitUntil('live again', 2000, () => local.isLive)
    expect(local.lookup('a')).to.equal(undefined)
    changes.close()
  })

  it('empties at once when the subscriber connection drops, before any canary is due', async () => {
    const { local, subscriber, changes } = await started({ canaryMs: 10_000, lateMs: 5_000 })
    local.remember(local.ticket(), session('a'), 60_000)
    const id = await subscriber.client('ID')
    const killer = await connect()
    await killer.client('KILL', 'ID', String(id))
    await waitUntil('paused by the close', 2000, () => !local.isLive)
    expect(local.size).to.equal(0)
    changes.close()
  })
})

describe('session cache: announcing on every master', () => {
  it('waits at most its bound for a master that does not answer, and counts what did not arrive', async () => {
    const published: string[] = []
    const answers = { status: 'ready', publish: async (_c: string, m: string) => published.push(m) }
    const stalled = { status: 'ready', publish: () => new Promise<number>(() => {}) }
    const reconnecting = { status: 'reconnecting', publish: answers.publish }
    const nodes = [answers, stalled, reconnecting] as unknown as Redis[]
    const failed = await publishOnEveryMaster(nodes, 'ch', 'm1', 50)
    expect(failed).to.equal(2)
    expect(published).to.deep.equal(['m1'])
  })
})

describe('session cache: the store', () => {
  let app: FastifyInstance
  const prefix = freshRedisPrefix()
  before(async () => {
    app = await buildTestApp({ SESSION_LOCAL_CACHE_SECONDS: '0', REDIS_KEY_PREFIX: prefix })
  })
  after(async () => {
    await app?.close()
  })

  /** A store whose copy is live but hears no channel: only its own drops keep it right. */
  function deafStore() {
    const local = new SessionCache({ maxAgeMs: 10_000 })
    local.setLive(true)
    const announcements = new ChangeAnnouncements(sessionChangesChannel(freshRedisPrefix()))
    const store = new SessionStore(app.redis, app.sessions.lifetimes, {
      announcements,
      local,
      sync: async () => true,
    })
    return { store, local }
  }

  it('drops its own copy when it revokes, without waiting for the channel (read-your-writes)', async () => {
    const { store } = deafStore()
    const user = await login(app)
    expect(await store.use(user.token)).not.to.equal(undefined)
    await store.revokeAll(user.user.id)
    expect(await store.use(user.token)).to.equal(undefined)
    const again = await login(app)
    const { session } = await store.create(again.user.id, 'user')
    expect(session).to.include({ userId: again.user.id })
  })

  it('drops its own copy of one session when it logs that session out', async () => {
    const { store } = deafStore()
    const user = await login(app)
    const found = await store.use(user.token)
    expect(found).not.to.equal(undefined)
    await store.revoke(found as Session)
    expect(await store.use(user.token)).to.equal(undefined)
  })

  it('applies a drop that arrives with the request before answering from the copy', async () => {
    const { store, local } = deafStore()
    const user = await login(app)
    expect(await store.use(user.token)).not.to.equal(undefined)
    // Revoked in Redis by someone whose announcement is read in the same poll as this request.
    await app.redis.del(sessionKeys.session(user.user.id, sessionIdOf(user.token)))
    const pending = store.use(user.token)
    local.forget(user.user.id)
    expect(await pending).to.equal(undefined)
  })

  it('keeps read-along values only when the caller says they are current', async () => {
    const { store, local } = deafStore()
    const user = await login(app)
    const alsoGet = (userId: string) => [`k1:{${userId}}`, `k2:{${userId}}`]
    const found = await store.use(user.token, { alsoGet, keepAlongside: () => false })
    expect(found?.alongside).to.deep.equal([null, null])
    const id = sessionIdOf(user.token)
    expect(local.lookup(id, alsoGet(user.user.id).join('\n'))).to.equal(undefined)
    expect(local.lookup(id)).not.to.equal(undefined)
    expect(local.lookup(id)?.alongside).to.equal(undefined)
  })

  it('announces a revocation even with its own copy off, for peers that have theirs on', async () => {
    const user = await login(app)
    const channel = sessionChangesChannel(prefix)
    const listener = new Redis(services.redisUrl)
    try {
      const heard: string[] = []
      listener.on('message', (_c: string, message: string) => heard.push(message))
      await listener.subscribe(channel)
      await app.sessions.revokeAll(user.user.id)
      await waitUntil('announcement heard', 2000, () => heard.some((m) => m.endsWith(`:${user.user.id}`)))
    } finally {
      listener.disconnect()
    }
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
    // The outbox relay may publish the login's security notice at any moment: not the request's.
    return (await redisCommandsDuring(app, work))
      .filter((c) => !isPush(c) && c.args.some((arg) => String(arg).includes(userId)))
      .map((c) => c.name)
  }
  const me = (app: FastifyInstance, token: string) =>
    app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) })

  /** Warms `app`'s copy: the profile is loaded, then read along and kept. */
  async function warm(app: FastifyInstance, token: string, userId: string) {
    for (let i = 0; i < 3; i++) expect((await me(app, token)).statusCode).to.equal(200)
    expect(await commandsOf(app, userId, () => me(app, token))).to.deep.equal([])
  }

  it('answers a busy client’s GET /v1/me without a session script (a PING on the subscriber orders it)', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const res = await me(a, user.token)
    expect(res.json()).to.include({ id: user.user.id, email: user.email })
  })

  it('checks an admin route’s session in Redis every time, however warm the copy', async () => {
    const admin = await login(a)
    await setUserRole(a, admin.user.id, 'admin')
    const relogin = await a.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: admin.email, password: admin.password },
    })
    const token = relogin.json().token as string
    await warm(a, token, admin.user.id)
    const daily = () =>
      a.inject({
        method: 'GET',
        url: '/v1/admin/reports/daily?from=2026-01-01&to=2026-01-02',
        headers: bearer(token),
      })
    expect((await daily()).statusCode).to.equal(200)
    const sent = await commandsOf(a, admin.user.id, daily)
    expect(sent.filter((name) => name === 'evalsha' || name === 'eval').length).to.equal(1)
  })

  it('checks a write’s session in Redis every time, however warm the copy', async () => {
    const user = await login(a)
    await warm(a, user.token, user.user.id)
    const sent = await commandsOf(a, user.user.id, () =>
      a.inject({
        method: 'PUT',
        url: '/v1/me/preferences',
        headers: bearer(user.token),
        payload: { theme: 'dark' },
      }),
    )
    expect(sent.filter((name) => name === 'evalsha' || name === 'eval').length).to.be.at.least(1)
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
