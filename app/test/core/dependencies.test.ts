import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { TcpProxy } from '../../../scripts/kit/tcp-proxy.js'
import { buildTestApp } from '../helpers/app.js'
import { services, withDatabase } from '../helpers/services.js'
import { bearer, login, register } from '../helpers/users.js'

/** Polls until `check` passes or the time is up; returns how long it took. */
async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < withinMs) {
    if (await check()) return Date.now() - started
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`condition not met within ${withinMs} ms`)
}

describe('PostgreSQL or Redis down', () => {
  const pgUrl = new URL(services.databaseUrl)
  const redisUrl = new URL(services.redisUrl)
  const pgProxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432))
  const redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379))
  let app: FastifyInstance

  before(async () => {
    await pgProxy.up()
    await redisProxy.up()
    const proxiedPg = new URL(withDatabase(services.databaseUrl, services.databaseName))
    proxiedPg.port = String(pgProxy.port)
    app = await buildTestApp({
      DATABASE_URL: proxiedPg.toString(),
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
    })
  })
  after(async () => {
    await app.close()
    await pgProxy.down()
    await redisProxy.down()
  })

  afterEach(async () => {
    // Leave both up for the next test, whatever happened.
    await pgProxy.up().catch(() => {})
    await redisProxy.up().catch(() => {})
  })

  it('answers 503 within about a second while PostgreSQL is down, then recovers by itself', async () => {
    const session = await login(app)
    await pgProxy.down()

    const started = Date.now()
    const res = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
    expect(Date.now() - started).to.be.below(1500)
    expect(res.statusCode).to.equal(503)
    expect(res.json().error.code).to.equal('SERVICE_UNAVAILABLE')
    expect(res.headers['retry-after']).to.equal('1')

    await pgProxy.up()
    await eventually(async () => {
      const again = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
      return again.statusCode === 200
    }, 5000)
  })

  it('answers 503 within about a second while Redis is down, then recovers by itself', async () => {
    const session = await login(app)
    const account = await register(app)
    await redisProxy.down()

    for (const request of [
      { method: 'GET' as const, url: '/v1/me', headers: bearer(session.token) },
      {
        method: 'POST' as const,
        url: '/v1/auth/login',
        payload: { email: account.email, password: account.password },
      },
    ]) {
      const started = Date.now()
      const res = await app.inject(request)
      expect(Date.now() - started, request.url).to.be.below(1500)
      expect(res.statusCode, request.url).to.equal(503)
      expect(res.json().error.code).to.equal('SERVICE_UNAVAILABLE')
    }
    const ready = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).to.equal(503)
    expect(ready.json().checks).to.deep.equal({ postgres: 'ok', redis: 'fail' })

    await redisProxy.up()
    const took = await eventually(async () => {
      const again = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
      return again.statusCode === 200
    }, 5000)
    expect(took).to.be.below(5000)
    const readyAgain = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(readyAgain.statusCode).to.equal(200)
  })
})
