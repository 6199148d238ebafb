import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, testEnv } from '../helpers/app.js'
import { register, uniqueEmail } from '../helpers/users.js'

describe('rate limits (shared by instances through Redis)', () => {
  let a: FastifyInstance
  let b: FastifyInstance
  before(async () => {
    // Two instances of the service with the same Redis namespace, as behind the load balancer.
    const env = testEnv({
      LOGIN_MAX_PER_ACCOUNT: '4',
      LOGIN_MAX_PER_IP: '6',
      REGISTER_MAX_PER_IP: '3',
      REGISTER_MAX_PER_ACCOUNT: '2',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '60',
    })
    a = await buildTestApp(env)
    b = await buildTestApp(env)
  })
  after(async () => {
    await a.close()
    await b.close()
  })

  const loginFrom = (app: FastifyInstance, ip: string, email: string, password = 'wrong guess 123') =>
    app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'x-forwarded-for': ip },
      payload: { email, password },
    })

  it('limits login attempts per account across instances, with 429 and Retry-After', async () => {
    const account = await register(a, {})
    const statuses: number[] = []
    // Alternate instances and client addresses: only the account is common.
    for (let i = 0; i < 4; i++) {
      statuses.push((await loginFrom(i % 2 ? b : a, `198.51.100.${i + 1}`, account.email)).statusCode)
    }
    expect(statuses).to.deep.equal([401, 401, 401, 401])
    const blocked = await loginFrom(b, '198.51.100.99', account.email.toUpperCase(), account.password)
    expect(blocked.statusCode).to.equal(429)
    expect(blocked.json().error.code).to.equal('RATE_LIMITED')
    const retryAfter = Number(blocked.headers['retry-after'])
    expect(retryAfter).to.be.within(1, 60)
  })

  it('limits login attempts per client address across instances, whatever the account', async () => {
    const ip = '203.0.113.50'
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) statuses.push((await loginFrom(i % 2 ? b : a, ip, uniqueEmail())).statusCode)
    expect(statuses.slice(0, 6)).to.deep.equal([401, 401, 401, 401, 401, 401])
    expect(statuses[6]).to.equal(429)
    // Another address is not affected.
    expect((await loginFrom(a, '203.0.113.51', uniqueEmail())).statusCode).to.equal(401)
  })

  it('limits registrations per client address and per email across instances', async () => {
    const ip = '192.0.2.10'
    const attempt = (app: FastifyInstance, email: string, from = ip) =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        headers: { 'x-forwarded-for': from },
        payload: { email, password: 'correct horse battery staple', name: 'R' },
      })
    expect((await attempt(a, uniqueEmail())).statusCode).to.equal(201)
    expect((await attempt(b, uniqueEmail())).statusCode).to.equal(201)
    expect((await attempt(a, uniqueEmail())).statusCode).to.equal(201)
    const blocked = await attempt(b, uniqueEmail())
    expect(blocked.statusCode).to.equal(429)
    expect(blocked.headers).to.have.property('retry-after')

    const email = uniqueEmail('target')
    expect((await attempt(a, email, '192.0.2.20')).statusCode).to.equal(201)
    expect((await attempt(b, email, '192.0.2.21')).statusCode).to.equal(409)
    expect((await attempt(a, email, '192.0.2.22')).statusCode).to.equal(429)
  })
})
