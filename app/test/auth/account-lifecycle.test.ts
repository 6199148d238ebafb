import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { buildTestApp } from '../helpers/app.js'
import { services } from '../helpers/services.js'
import { type ReceivedMail, startSmtpSink, tokenIn } from '../helpers/smtp.js'
import { bearer, GOOD_PASSWORD, login, register, uniqueEmail } from '../helpers/users.js'

const NEW_PASSWORD = 'a different long passphrase'
const RESET = 'Reset your password'

describe('account lifecycle against a real SMTP server', () => {
  let app: FastifyInstance
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>
  // A client without the key prefix, to list what the service stored.
  const raw = new Redis(services.redisUrl)

  before(async () => {
    smtp = await startSmtpSink()
    app = await buildTestApp({ SMTP_URL: smtp.url, APP_BASE_URL: 'https://app.example.com' })
  })
  after(async () => {
    await app.close()
    await smtp.close()
    raw.disconnect()
  })

  const status = (token: string) =>
    app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) }).then((r) => r.statusCode)
  const loginAs = (email: string, password: string) =>
    app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })

  describe('password change', () => {
    it('needs the current password, rotates this session and ends every other one', async () => {
      const user = await login(app)
      const other = (await loginAs(user.email, user.password)).json().token as string

      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(user.token),
        payload: { currentPassword: 'not my password', newPassword: NEW_PASSWORD },
      })
      expect(wrong.statusCode).to.equal(403)
      expect(await status(other)).to.equal(200)

      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(user.token),
        payload: { currentPassword: user.password, newPassword: NEW_PASSWORD },
      })
      expect(res.statusCode).to.equal(200)
      expect(res.headers['cache-control']).to.equal('no-store')
      const fresh = res.json().token as string
      expect(await status(fresh)).to.equal(200)
      expect(await status(user.token)).to.equal(401)
      expect(await status(other)).to.equal(401)
      expect((await loginAs(user.email, user.password)).statusCode).to.equal(401)
      expect((await loginAs(user.email, NEW_PASSWORD)).statusCode).to.equal(200)
    })

    it('applies the password policy to the new password', async () => {
      const user = await login(app)
      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(user.token),
        payload: { currentPassword: user.password, newPassword: 'password' },
      })
      expect(res.statusCode).to.equal(400)
      expect(await status(user.token)).to.equal(200)
    })
  })

  describe('password reset by mail', () => {
    const requestReset = (email: string) =>
      app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email } })

    it('mails a single-use link, sets the new password and ends every session', async () => {
      const user = await login(app)
      const since = smtp.mails.length
      const asked = await requestReset(user.email.toUpperCase())
      expect(asked.statusCode).to.equal(202)
      const mail = await smtp.next(user.email, since, RESET)
      expect(mail.decoded).to.include('https://app.example.com/reset-password#token=')
      expect(mail.decoded).to.match(/Content-Type: text\/plain/i)
      expect(mail.decoded).to.match(/Content-Type: text\/html/i)
      const token = tokenIn(mail)

      const confirm = (password: string) =>
        app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: { token, password } })
      expect((await confirm(NEW_PASSWORD)).statusCode).to.equal(204)
      expect(await status(user.token)).to.equal(401)
      expect((await loginAs(user.email, NEW_PASSWORD)).statusCode).to.equal(200)
      // Single use: the same link a second time is refused.
      const again = await confirm('yet another passphrase')
      expect(again.statusCode).to.equal(400)
      expect(again.json().error.code).to.equal('INVALID_TOKEN')
    })

    it('stores only a hash of the token, and the link expires', async () => {
      const short = await buildTestApp({ SMTP_URL: smtp.url, PASSWORD_RESET_TTL_SECONDS: '60' })
      try {
        const user = await register(short)
        const since = smtp.mails.length
        await short.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: user.email } })
        const token = tokenIn(await smtp.next(user.email, since, RESET))
        const prefix = String(short.redis.options.keyPrefix)
        const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length))
        const values = await Promise.all(
          keys.map(async (k) =>
            (await short.redis.type(k)) === 'hash' ? JSON.stringify(await short.redis.hgetall(k)) : '',
          ),
        )
        expect([...keys, ...values].join('\n')).not.to.include(token)
        // Age the stored token past its lifetime.
        const key = keys.find((k) => k.endsWith(':tokens')) as string
        // Every stored token (registration's verification one too): which field is the reset's is not
        // for the test to know.
        for (const [field, value] of Object.entries(await short.redis.hgetall(key)))
          await short.redis.hset(key, field, JSON.stringify({ ...JSON.parse(value), exp: Date.now() - 1 }))
        const res = await short.inject({
          method: 'POST',
          url: '/v1/auth/password-reset/confirm',
          payload: { token, password: NEW_PASSWORD },
        })
        expect(res.statusCode).to.equal(400)
      } finally {
        await short.close()
      }
    })

    it('answers an unknown address exactly like a known one, and mails nobody', async () => {
      const user = await register(app)
      const unknown = uniqueEmail('nobody')
      const timings: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] }
      let knownBody = ''
      let unknownBody = ''
      for (let i = 0; i < 5; i++) {
        for (const [kind, email] of [
          ['known', user.email],
          ['unknown', unknown],
        ] as const) {
          const started = performance.now()
          const res = await requestReset(email)
          timings[kind].push(performance.now() - started)
          expect(res.statusCode).to.equal(202)
          if (kind === 'known') knownBody = res.body
          else unknownBody = res.body
        }
      }
      expect(unknownBody).to.equal(knownBody)
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
      // Both answer before any lookup: within a few milliseconds of each other.
      expect(Math.abs(median(timings.known) - median(timings.unknown))).to.be.below(15)
      await smtp.next(user.email, 0, RESET)
      await new Promise((r) => setTimeout(r, 300))
      expect(smtp.mails.some((m) => m.to.includes(unknown))).to.equal(false)
    })
  })

  describe('email verification', () => {
    it('mails a link at registration; confirming it marks the address verified', async () => {
      const since = smtp.mails.length
      const user = await register(app)
      expect(user.user).to.have.property('emailVerified', false)
      const token = tokenIn(await smtp.next(user.email, since))
      const res = await app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } })
      expect(res.statusCode).to.equal(200)
      expect(res.json().user.emailVerified).to.equal(true)
      const replay = await app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } })
      expect(replay.statusCode).to.equal(400)
    })

    it('changes the email only once the new address is confirmed', async () => {
      const user = await login(app)
      const next = uniqueEmail('moved')
      const since = smtp.mails.length
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/me/email',
        headers: bearer(user.token),
        payload: { email: next, password: 'not my password' },
      })
      expect(wrong.statusCode).to.equal(403)
      const asked = await app.inject({
        method: 'POST',
        url: '/v1/me/email',
        headers: bearer(user.token),
        payload: { email: next, password: user.password },
      })
      expect(asked.statusCode).to.equal(202)
      const mail: ReceivedMail = await smtp.next(next, since)
      // Not changed yet.
      const before = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
      expect(before.json().email).to.equal(user.email)
      await app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: tokenIn(mail) } })
      const after = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
      expect(after.json()).to.include({ email: next, emailVerified: true })
      expect((await loginAs(next, GOOD_PASSWORD)).statusCode).to.equal(200)
    })

    it('with REQUIRE_VERIFIED_EMAIL=true an account logs in only after confirming', async () => {
      const strict = await buildTestApp({ SMTP_URL: smtp.url, REQUIRE_VERIFIED_EMAIL: 'true' })
      try {
        const since = smtp.mails.length
        const user = await register(strict)
        const first = await strict.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: user.password },
        })
        expect(first.statusCode).to.equal(403)
        expect(first.json().error.code).to.equal('EMAIL_NOT_VERIFIED')
        const token = tokenIn(await smtp.next(user.email, since))
        await strict.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } })
        const second = await strict.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: user.password },
        })
        expect(second.statusCode).to.equal(200)
      } finally {
        await strict.close()
      }
    })
  })
})
