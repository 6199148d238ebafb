import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { LoginThrottle } from '../../src/features/auth/lockout.js'
import { buildTestApp } from '../helpers/app.js'
import { register } from '../helpers/users.js'

describe('login throttling cannot lock the owner out (device cookies)', () => {
  let app: FastifyInstance

  before(async () => {
    app = await buildTestApp({ LOGIN_MAX_PER_ACCOUNT: '5', LOGIN_MAX_PER_DEVICE: '3' })
  })
  after(async () => {
    await app.close()
  })

  const attempt = (
    email: string,
    password: string,
    headers: Record<string, string> = {},
    ip = '203.0.113.7',
  ) =>
    app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password },
      headers,
      remoteAddress: ip,
    })

  it('a stranger’s guesses block strangers, while the owner’s known device still logs in', async () => {
    const owner = await register(app)
    // The owner logged in once from their phone: it holds a device token (cookie or header).
    const first = await attempt(owner.email, owner.password, {}, '198.51.100.1')
    expect(first.statusCode).to.equal(200)
    const deviceToken = first.json().deviceToken as string
    const deviceCookie = first.cookies.find((c) => c.name === '__Host-device')
    expect(deviceCookie?.value).to.equal(deviceToken)
    expect(deviceCookie?.httpOnly).to.equal(true)

    // An attacker guesses from many addresses until refused.
    const answers: number[] = []
    for (let i = 0; i < 7; i++)
      answers.push((await attempt(owner.email, `wrong-${i}`, {}, `192.0.2.${i}`)).statusCode)
    expect(answers.slice(0, 5)).to.deep.equal([401, 401, 401, 401, 401])
    expect(answers.slice(5)).to.deep.equal([429, 429])
    // Once locked, strangers are refused even with the right password: no oracle.
    expect((await attempt(owner.email, owner.password, {}, '192.0.2.99')).statusCode).to.equal(429)

    // The owner's device is not affected: cookie (web) and header (apps) both work.
    const viaCookie = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: owner.email, password: owner.password },
      cookies: { '__Host-device': deviceToken },
    })
    expect(viaCookie.statusCode).to.equal(200)
    expect(
      (await attempt(owner.email, owner.password, { 'x-device-token': deviceToken })).statusCode,
    ).to.equal(200)
  })

  it('throttles guessing from a known device on its own budget', async () => {
    const owner = await register(app)
    const device = (await attempt(owner.email, owner.password)).json().deviceToken as string
    const headers = { 'x-device-token': device }
    const answers: number[] = []
    for (let i = 0; i < 4; i++) answers.push((await attempt(owner.email, `typo-${i}`, headers)).statusCode)
    expect(answers).to.deep.equal([401, 401, 401, 429])
    // The account's untrusted budget is untouched by the device's failures.
    expect((await attempt(owner.email, owner.password)).statusCode).to.equal(200)
  })

  it('a device token of one account is untrusted for another', async () => {
    const a = await register(app)
    const b = await register(app)
    const tokenOfA = (await attempt(a.email, a.password)).json().deviceToken as string
    for (let i = 0; i < 5; i++) await attempt(b.email, `wrong-${i}`)
    expect((await attempt(b.email, b.password, { 'x-device-token': tokenOfA })).statusCode).to.equal(429)
  })

  it('a stolen device token cannot be reset by logging in to another account with it', async () => {
    const owner = await register(app)
    const attacker = await register(app)
    const stolen = (await attempt(owner.email, owner.password)).json().deviceToken as string
    const headers = { 'x-device-token': stolen }
    // Spend the device's budget on the owner, then log in to the attacker's own account with the same
    // token: that success must not clear the owner's device counter.
    for (let i = 0; i < 3; i++) await attempt(owner.email, `guess-${i}`, headers)
    expect((await attempt(attacker.email, attacker.password, headers)).statusCode).to.equal(200)
    expect((await attempt(owner.email, 'guess-again', headers)).statusCode).to.equal(429)
  })

  it('gives an attempt its charge back when its check could not run (hashing shed, a dependency down)', async () => {
    const config = {
      untrustedFailuresPerAccount: 2,
      failuresPerDevice: 2,
      windowSeconds: 60,
      deviceCookieDays: 1,
    }
    const throttle = new LoginThrottle(app.redis, config)
    const email = `shed-${Date.now()}@example.com`
    const shed = new Error('hashing overloaded')
    for (let i = 0; i < 5; i++) {
      const verdict = await throttle.check({ email, userId: undefined, deviceToken: undefined })
      expect(verdict.allowed, `attempt ${i}`).to.equal(true)
      if (!verdict.allowed) return
      const refused = await throttle
        .judged(verdict.counter, () => Promise.reject(shed))
        .catch((e: unknown) => e)
      expect(refused).to.equal(shed)
    }
    // Judged attempts still count: two wrong answers spend this budget of two.
    for (let i = 0; i < 2; i++) {
      const verdict = await throttle.check({ email, userId: undefined, deviceToken: undefined })
      if (verdict.allowed) await throttle.judged(verdict.counter, async () => false)
    }
    const last = await throttle.check({ email, userId: undefined, deviceToken: undefined })
    expect(last.allowed).to.equal(false)
  })

  it('answers an unknown email the same way, lockout included', async () => {
    const email = `nobody-${Date.now()}@example.com`
    const answers: number[] = []
    for (let i = 0; i < 6; i++) answers.push((await attempt(email, `guess-${i}`)).statusCode)
    expect(answers).to.deep.equal([401, 401, 401, 401, 401, 429])
  })
})
