import { createHash } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { sessionIdOf, sessionKeys } from '../../src/features/auth/sessions.js'
import { buildTestApp, testEnv } from '../helpers/app.js'
import { services } from '../helpers/services.js'
import { bearer, login } from '../helpers/users.js'

describe('sessions', () => {
  let app: FastifyInstance
  let prefix: string
  // A plain client (no prefix) to look at what the service stored.
  let redis: Redis

  before(async () => {
    redis = new Redis(services.redisUrl)
    const env = testEnv()
    prefix = env.REDIS_KEY_PREFIX as string
    app = await buildTestApp(env)
  })
  after(async () => {
    await app.close()
    redis.disconnect()
  })

  async function keysAndValues(): Promise<string> {
    const keys = await redis.keys(`${prefix}*`)
    const parts = [...keys]
    for (const key of keys) {
      const type = await redis.type(key)
      if (type === 'string') parts.push((await redis.get(key)) ?? '')
      if (type === 'hash') parts.push(...Object.values(await redis.hgetall(key)))
      if (type === 'set') parts.push(...(await redis.smembers(key)))
    }
    return parts.join('\n')
  }

  it('issues an opaque token of at least 128 bits that Redis never holds in the clear', async () => {
    const session = await login(app)
    const bytes = Buffer.from(session.token, 'base64url')
    expect(bytes.length * 8).to.be.at.least(128)
    const stored = await keysAndValues()
    expect(stored).to.include(sessionIdOf(session.token))
    expect(stored).not.to.include(session.token)
  })

  it('keys a session by the hex SHA-256 of its token, so sessions stored by earlier releases still resolve', async () => {
    const session = await login(app)
    const id = createHash('sha256').update(session.token).digest('hex')
    expect(sessionIdOf(session.token)).to.equal(id)
    expect(await redis.exists(`${prefix}${sessionKeys.session(session.user.id, id)}`)).to.equal(1)
  })

  it('sets the cookie HttpOnly, Secure, SameSite and path-wide, with the same token as the body', async () => {
    const session = await login(app)
    const header = String(
      ([] as string[])
        .concat(session.response.headers['set-cookie'] ?? [])
        .find((c) => c.startsWith('__Host-sid=')),
    )
    expect(header).to.match(/^__Host-sid=/)
    expect(header).to.match(/;\s*HttpOnly/i)
    expect(header).to.match(/;\s*Secure/i)
    expect(header).to.match(/;\s*SameSite=Lax/i)
    expect(header).to.match(/;\s*Path=\//i)
    expect(session.cookie).to.equal(session.token)
  })

  it('slides the 30-minute expiry forward on every authenticated request', async () => {
    const session = await login(app)
    const key = `${prefix}${sessionKeys.session(session.user.id, sessionIdOf(session.token))}`
    expect(await redis.ttl(key)).to.be.within(1795, 1800)
    await redis.expire(key, 60)
    const res = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
    expect(res.statusCode).to.equal(200)
    expect(await redis.ttl(key)).to.be.within(1795, 1800)
  })

  it('stops accepting a session once its TTL has run out', async () => {
    const short = await buildTestApp({ SESSION_TTL_SECONDS: '1' })
    try {
      const session = await login(short)
      expect(
        (await short.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })).statusCode,
      ).to.equal(200)
      await new Promise((r) => setTimeout(r, 2100))
      const res = await short.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
      expect(res.statusCode).to.equal(401)
    } finally {
      await short.close()
    }
  })

  it('gives a fresh token at every login, and drops the session the client logged in with', async () => {
    const first = await login(app)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      cookies: { '__Host-sid': first.token },
      payload: { email: first.email, password: first.password },
    })
    expect(res.statusCode).to.equal(200)
    const second = res.json().token as string
    expect(second).not.to.equal(first.token)
    expect((await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(second) })).statusCode).to.equal(
      200,
    )
    expect(
      (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(first.token) })).statusCode,
    ).to.equal(401)
  })

  it('keeps sessions of other devices when one logs in again without a token', async () => {
    const phone = await login(app)
    const laptop = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: phone.email, password: phone.password },
    })
    expect(laptop.json().token).not.to.equal(phone.token)
    expect(
      (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(phone.token) })).statusCode,
    ).to.equal(200)
  })

  it('DELETE /v1/me/sessions revokes every session of the user and no one else', async () => {
    const a = await login(app)
    const b = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: a.email, password: a.password },
    })
    const bToken = b.json().token as string
    const other = await login(app)

    const res = await app.inject({ method: 'DELETE', url: '/v1/me/sessions', headers: bearer(a.token) })
    expect(res.statusCode).to.equal(200)
    expect(res.json()).to.deep.equal({ revoked: 2 })
    for (const token of [a.token, bToken]) {
      expect(
        (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) })).statusCode,
      ).to.equal(401)
    }
    expect(
      (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(other.token) })).statusCode,
    ).to.equal(200)
    expect(await redis.exists(`${prefix}${sessionKeys.index(a.user.id)}`)).to.equal(0)
  })

  it('a session revoked on one instance is refused by another at once', async () => {
    const env = testEnv({ REDIS_KEY_PREFIX: prefix })
    const second = await buildTestApp(env)
    try {
      const session = await login(app)
      expect(
        (await second.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })).statusCode,
      ).to.equal(200)
      await app.inject({
        method: 'POST',
        url: '/v1/auth/logout',
        cookies: { '__Host-sid': session.cookie },
        headers: { origin: 'http://localhost:80' },
      })
      expect(
        (await second.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })).statusCode,
      ).to.equal(401)
    } finally {
      await second.close()
    }
  })
})
