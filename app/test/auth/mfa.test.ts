import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { setUserRole } from '../../src/features/auth/roles.js'
import { buildTestApp } from '../helpers/app.js'
import { codeAt, enrolMfa } from '../helpers/mfa.js'
import { startS3, type TestS3 } from '../helpers/s3.js'
import { freshRedisPrefix } from '../helpers/services.js'
import { startSmtpSink, tokenIn } from '../helpers/smtp.js'
import { bearer, login, uniqueEmail } from '../helpers/users.js'

const NEW_PASSWORD = 'a different long passphrase'

describe('multi-factor authentication (TOTP)', () => {
  let app: FastifyInstance
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>
  // The erasure deletes the user's objects first: it needs a real S3-compatible store.
  let s3: TestS3

  before(async () => {
    smtp = await startSmtpSink()
    s3 = await startS3()
    app = await buildTestApp({ ...s3.env, SMTP_URL: smtp.url, APP_BASE_URL: 'https://app.example.com' })
  })
  after(async () => {
    await app.close()
    await smtp.close()
    await s3.close()
  })

  const status = (token: string) =>
    app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) }).then((r) => r.statusCode)
  const password = (email: string, pass: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: pass }, headers })
  const second = (challenge: string, factor: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/auth/login/mfa', payload: { challenge, ...factor }, headers })
  /** A user with MFA on, and a second (untouched) session from before the enrolment. */
  const enrolledUser = async () => {
    const user = await login(app)
    const enrolled = await enrolMfa(app, user.token, user.password)
    return { ...user, ...enrolled, oldToken: user.token }
  }

  describe('enrolment', () => {
    it('needs the password, returns the secret once, turns on with a valid code and ends other sessions', async () => {
      const user = await login(app)
      const other = (await password(user.email, user.password)).json().token as string
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/enrolment',
        headers: bearer(user.token),
        payload: { password: 'not my password' },
      })
      expect(wrong.statusCode).to.equal(403)
      expect(wrong.json().error.code).to.equal('REAUTHENTICATION_FAILED')

      const since = smtp.mails.length
      const { secret, recoveryCodes, token, start } = await enrolMfa(app, user.token, user.password)
      expect(secret.length).to.equal(20)
      const uri = new URL(start.otpauthUri as string)
      expect(uri.protocol).to.equal('otpauth:')
      expect(uri.searchParams.get('secret')).to.equal(start.secret)
      expect(recoveryCodes).to.have.length(10)
      expect(new Set(recoveryCodes).size).to.equal(10)
      // Other sessions (and the one enrolment ran in) end; the caller carries on with the rotated one.
      expect(await status(other)).to.equal(401)
      expect(await status(user.token)).to.equal(401)
      expect(await status(token)).to.equal(200)
      await smtp.next(user.email, since, 'Two-factor authentication is on')

      const state = await app.inject({ method: 'GET', url: '/v1/me/mfa', headers: bearer(token) })
      expect(state.json()).to.include({ enabled: true, recoveryCodesLeft: 10 })
      expect(state.body).not.to.include(start.secret)
      const again = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/enrolment',
        headers: bearer(token),
        payload: { password: user.password },
      })
      expect(again.statusCode).to.equal(409)
      // The stored codes are hashes: no code appears in the database.
      const rows = await app.prisma.mfaRecoveryCode.findMany({ where: { userId: user.user.id } })
      expect(rows.map((r) => r.codeHash)).to.not.include.members(recoveryCodes)
    })

    it('refuses a wrong confirmation code and leaves MFA off', async () => {
      const user = await login(app)
      await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/enrolment',
        headers: bearer(user.token),
        payload: { password: user.password },
      })
      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/enrolment/confirm',
        headers: bearer(user.token),
        payload: { code: '000000' },
      })
      expect(res.statusCode).to.equal(403)
      expect((await password(user.email, user.password)).json()).to.have.property('token')
    })
  })

  describe('login', () => {
    it('answers a correct password with a challenge and no session, then logs in with a code', async () => {
      const user = await enrolledUser()
      const first = await password(user.email, user.password)
      expect(first.statusCode).to.equal(200)
      expect(first.json()).to.have.keys('mfaRequired', 'challenge', 'expiresAt')
      expect(first.cookies.map((c) => c.name)).to.not.include('sid')
      expect(first.cookies.map((c) => c.name)).to.not.include('__Host-sid')

      const done = await second(first.json().challenge, { code: codeAt(user.secret, 1) })
      expect(done.statusCode).to.equal(200)
      expect(done.headers['cache-control']).to.equal('no-store')
      expect(await status(done.json().token)).to.equal(200)
      // The challenge is spent.
      const reuse = await second(first.json().challenge, { code: codeAt(user.secret, 1) })
      expect(reuse.statusCode).to.equal(401)
      expect(reuse.json().error.code).to.equal('INVALID_MFA_CHALLENGE')
    })

    it('keeps a wrong password and an unknown email indistinguishable', async () => {
      const user = await enrolledUser()
      const wrong = await password(user.email, 'not my password')
      const unknown = await password(uniqueEmail(), 'not my password')
      expect(wrong.statusCode).to.equal(401)
      expect(unknown.statusCode).to.equal(401)
      expect(wrong.json().error.code).to.equal(unknown.json().error.code)
      expect(wrong.json().error.message).to.equal(unknown.json().error.message)
    })

    it('accepts a code once: the same time step is refused the second time', async () => {
      const user = await enrolledUser()
      const code = codeAt(user.secret, 1)
      const a = await password(user.email, user.password)
      expect((await second(a.json().challenge, { code })).statusCode).to.equal(200)
      const b = await password(user.email, user.password)
      const replay = await second(b.json().challenge, { code })
      expect(replay.statusCode).to.equal(401)
      expect(replay.json().error.code).to.equal('INVALID_MFA_CODE')
      // The confirmation's own step is spent too: an older step never comes back.
      expect((await second(b.json().challenge, { code: codeAt(user.secret) })).statusCode).to.equal(401)
    })

    it('lets exactly one of two concurrent answers with the same code log in', async () => {
      const user = await enrolledUser()
      const code = codeAt(user.secret, 1)
      const [a, b] = await Promise.all([
        password(user.email, user.password),
        password(user.email, user.password),
      ])
      const answers = await Promise.all([
        second(a.json().challenge, { code }),
        second(b.json().challenge, { code }),
      ])
      expect(answers.map((r) => r.statusCode).sort()).to.deep.equal([200, 401])
    })

    it('logs in with a recovery code once, mails the owner, and refuses it the second time', async () => {
      const user = await enrolledUser()
      const since = smtp.mails.length
      const [code] = user.recoveryCodes as [string]
      const a = await password(user.email, user.password)
      // Separators and case do not matter.
      const used = await second(a.json().challenge, { recoveryCode: code.toUpperCase().replaceAll('-', ' ') })
      expect(used.statusCode).to.equal(200)
      await smtp.next(user.email, since, 'A recovery code was used')
      const b = await password(user.email, user.password)
      expect((await second(b.json().challenge, { recoveryCode: code })).statusCode).to.equal(401)
      const state = await app.inject({ method: 'GET', url: '/v1/me/mfa', headers: bearer(used.json().token) })
      expect(state.json().recoveryCodesLeft).to.equal(9)
    })

    it('binds the challenge to the client that passed the password', async () => {
      const user = await enrolledUser()
      const fromA = await password(user.email, user.password)
      const elsewhere = await app.inject({
        method: 'POST',
        url: '/v1/auth/login/mfa',
        payload: { challenge: fromA.json().challenge, code: codeAt(user.secret, 1) },
        remoteAddress: '203.0.113.9',
      })
      expect(elsewhere.statusCode).to.equal(401)
      const otherDevice = await second(
        fromA.json().challenge,
        { code: codeAt(user.secret, 1) },
        { 'x-device-token': 'A'.repeat(43) },
      )
      expect(otherDevice.statusCode).to.equal(401)
      expect((await second(fromA.json().challenge, { code: codeAt(user.secret, 1) })).statusCode).to.equal(
        200,
      )
    })

    it('ends a challenge after five wrong codes', async () => {
      const user = await enrolledUser()
      const { challenge } = (await password(user.email, user.password)).json()
      for (let i = 0; i < 5; i++) {
        const wrong = await second(challenge, { code: '000000' })
        expect(wrong.statusCode).to.equal(401)
        expect(wrong.json().error.code).to.equal('INVALID_MFA_CODE')
      }
      const right = await second(challenge, { code: codeAt(user.secret, 1) })
      expect(right.statusCode).to.equal(401)
      expect(right.json().error.code).to.equal('INVALID_MFA_CHALLENGE')
    })

    it('needs exactly one factor', async () => {
      const user = await enrolledUser()
      const { challenge } = (await password(user.email, user.password)).json()
      expect((await second(challenge, {})).statusCode).to.equal(400)
      const both = await second(challenge, {
        code: codeAt(user.secret, 1),
        recoveryCode: user.recoveryCodes[0] as string,
      })
      expect(both.statusCode).to.equal(400)
    })

    it('survives a password reset: the next login still asks for the code', async () => {
      const user = await enrolledUser()
      const since = smtp.mails.length
      await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: user.email } })
      const mail = await smtp.next(user.email, since, 'Reset your password')
      const reset = await app.inject({
        method: 'POST',
        url: '/v1/auth/password-reset/confirm',
        payload: { token: tokenIn(mail), password: NEW_PASSWORD },
      })
      expect(reset.statusCode).to.equal(204)
      const first = await password(user.email, NEW_PASSWORD)
      expect(first.statusCode).to.equal(200)
      expect(first.json()).to.not.have.property('token')
      expect(first.json().mfaRequired).to.equal(true)
      expect((await second(first.json().challenge, { code: codeAt(user.secret, 1) })).statusCode).to.equal(
        200,
      )
    })

    it('refuses a challenge issued before a password reset', async () => {
      const user = await enrolledUser()
      const { challenge } = (await password(user.email, user.password)).json()
      const since = smtp.mails.length
      await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: user.email } })
      const mail = await smtp.next(user.email, since, 'Reset your password')
      await app.inject({
        method: 'POST',
        url: '/v1/auth/password-reset/confirm',
        payload: { token: tokenIn(mail), password: NEW_PASSWORD },
      })
      expect((await second(challenge, { code: codeAt(user.secret, 1) })).statusCode).to.equal(401)
    })
    it('refuses a challenge older than a password change before spending its recovery code', async () => {
      const user = await enrolledUser()
      const [code] = user.recoveryCodes as [string]
      const { challenge } = (await password(user.email, user.password)).json()
      const changed = await app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(user.token),
        // With MFA on, a password change takes a code too (step-up: mfa-step-up.test.ts).
        payload: { currentPassword: user.password, newPassword: NEW_PASSWORD, code: codeAt(user.secret, 1) },
      })
      expect(changed.statusCode).to.equal(200)
      const since = smtp.mails.length
      const stale = await second(challenge, { recoveryCode: code })
      expect(stale.statusCode).to.equal(401)
      expect(stale.json().error.code).to.equal('INVALID_MFA_CHALLENGE')
      const left = await app.inject({
        method: 'GET',
        url: '/v1/me/mfa',
        headers: bearer(changed.json().token),
      })
      expect(left.json().recoveryCodesLeft).to.equal(10)
      // The code still works for the owner, and the only notice is the one of that real sign-in.
      const fresh = (await password(user.email, NEW_PASSWORD)).json().challenge as string
      expect((await second(fresh, { recoveryCode: code })).statusCode).to.equal(200)
      await smtp.next(user.email, since, 'A recovery code was used')
      const notices = smtp.mails
        .slice(since)
        .filter((m) => m.to.includes(user.email) && m.decoded.includes('A recovery code was used'))
      expect(notices).to.have.length(1)
    })
  })

  describe('disable and regenerate', () => {
    it('disables only with the password and a current code, ends other sessions and mails the owner', async () => {
      const user = await enrolledUser()
      const del = (payload: Record<string, string>) =>
        app.inject({ method: 'DELETE', url: '/v1/me/mfa', headers: bearer(user.token), payload })
      const bare = await del({ password: user.password })
      expect(bare.statusCode).to.equal(403)
      expect(bare.json().error.code).to.equal('MFA_CODE_REQUIRED')
      expect((await del({ password: user.password, code: '000000' })).statusCode).to.equal(403)
      expect((await del({ password: 'not my password', code: codeAt(user.secret, 1) })).statusCode).to.equal(
        403,
      )
      const since = smtp.mails.length
      const off = await del({ password: user.password, code: codeAt(user.secret, 1) })
      expect(off.statusCode).to.equal(200)
      expect(await status(user.token)).to.equal(401)
      expect(await status(off.json().token)).to.equal(200)
      const notice = await smtp.next(user.email, since, 'Two-factor authentication was turned off')
      // Text and HTML, like every mail of the service.
      expect(notice.raw).to.include('text/plain')
      expect(notice.raw).to.include('text/html')
      expect(notice.decoded).to.include('needs only your password again')
      expect((await password(user.email, user.password)).json()).to.have.property('token')
      expect(await app.prisma.mfaRecoveryCode.count({ where: { userId: user.user.id } })).to.equal(0)
    })

    it('regenerates recovery codes: the old ones stop working, the new ones work', async () => {
      const user = await enrolledUser()
      const since = smtp.mails.length
      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/recovery-codes',
        headers: bearer(user.token),
        payload: { password: user.password, code: codeAt(user.secret, 1) },
      })
      expect(res.statusCode).to.equal(200)
      const fresh = res.json().recoveryCodes as string[]
      expect(fresh).to.have.length(10)
      expect(await status(user.token)).to.equal(401)
      await smtp.next(user.email, since, 'New recovery codes were created')
      const a = await password(user.email, user.password)
      expect(
        (await second(a.json().challenge, { recoveryCode: user.recoveryCodes[0] as string })).statusCode,
      ).to.equal(401)
      expect((await second(a.json().challenge, { recoveryCode: fresh[0] as string })).statusCode).to.equal(
        200,
      )
    })
  })

  describe('GDPR', () => {
    it('exports MFA metadata without the secret, and the erasure deletes the MFA data', async () => {
      const user = await enrolledUser()
      const exported = await app.inject({ method: 'GET', url: '/v1/me/export', headers: bearer(user.token) })
      expect(exported.statusCode).to.equal(200)
      expect(exported.json().mfa.enabled).to.equal(true)
      expect(exported.json().mfa.recoveryCodes).to.have.length(10)
      const stored = await app.prisma.userMfa.findUniqueOrThrow({ where: { userId: user.user.id } })
      expect(exported.body).not.to.include(stored.secret)
      for (const code of user.recoveryCodes) expect(exported.body).not.to.include(code)
      const hashes = await app.prisma.mfaRecoveryCode.findMany({ where: { userId: user.user.id } })
      for (const { codeHash } of hashes) expect(exported.body).not.to.include(codeHash)

      const erased = await app.inject({
        method: 'DELETE',
        url: '/v1/me',
        headers: bearer(user.token),
        payload: { password: user.password, code: codeAt(user.secret, 1) },
      })
      expect(erased.statusCode).to.equal(200)
      expect(await app.prisma.userMfa.count({ where: { userId: user.user.id } })).to.equal(0)
      expect(await app.prisma.mfaRecoveryCode.count({ where: { userId: user.user.id } })).to.equal(0)
    })
  })
})

describe('MFA throttling and expiry', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp({ LOGIN_MAX_PER_ACCOUNT: '3', MFA_CHALLENGE_TTL_SECONDS: '1' })
  })
  after(() => app.close())

  it('charges wrong codes to the account like wrong passwords: 429 once the budget is spent', async () => {
    const user = await login(app)
    const { secret } = await enrolMfa(app, user.token, user.password)
    const challengeOf = async () =>
      (
        await app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: user.email, password: user.password },
        })
      ).json().challenge as string
    const challenge = await challengeOf()
    for (let i = 0; i < 3; i++) {
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/auth/login/mfa',
        payload: { challenge, code: '000000' },
      })
      expect(wrong.statusCode).to.equal(401)
    }
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge, code: codeAt(secret, 1) },
    })
    expect(refused.statusCode).to.equal(429)
  })

  it('lets a challenge expire', async () => {
    const user = await login(app)
    const { secret } = await enrolMfa(app, user.token, user.password)
    const { challenge } = (
      await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      })
    ).json()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const late = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge, code: codeAt(secret, 1) },
    })
    expect(late.statusCode).to.equal(401)
    expect(late.json().error.code).to.equal('INVALID_MFA_CHALLENGE')
  })
})

describe('MFA wrong answers per account and day', () => {
  let app: FastifyInstance
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>
  const SUBJECT = 'Your password was used but the code was wrong'
  before(async () => {
    smtp = await startSmtpSink()
    app = await buildTestApp({
      SMTP_URL: smtp.url,
      APP_BASE_URL: 'https://app.example.com',
      MFA_MAX_FAILURES_PER_DAY: '3',
      LOGIN_MAX_PER_ACCOUNT: '50',
    })
  })
  after(async () => {
    await app.close()
    await smtp.close()
  })

  const challengeFor = async (email: string, pass: string) =>
    (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: pass } })).json()
      .challenge as string
  const second = (challenge: string, factor: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/auth/login/mfa', payload: { challenge, ...factor } })
  const lockOut = async (email: string, pass: string) => {
    for (let i = 0; i < 3; i++) {
      expect((await second(await challengeFor(email, pass), { code: '000000' })).statusCode).to.equal(401)
    }
  }

  it('stops taking codes past the daily budget, mails the owner once, and a recovery code unlocks', async () => {
    const user = await login(app)
    const { secret, recoveryCodes } = await enrolMfa(app, user.token, user.password)
    const since = smtp.mails.length
    await lockOut(user.email, user.password)
    const mail = await smtp.next(user.email, since, SUBJECT)
    expect(mail.decoded).to.include('text/plain')
    expect(mail.decoded).to.include('text/html')
    expect(mail.decoded).to.include('entered many wrong two-factor codes')

    const locked = await second(await challengeFor(user.email, user.password), { code: codeAt(secret) })
    expect(locked.statusCode).to.equal(403)
    expect(locked.json().error.code).to.equal('MFA_CODES_LOCKED')
    const wrongRecovery = { recoveryCode: 'aaaaaa-aaaaaa-aaaaaa-aaaaaa' }
    expect((await second(await challengeFor(user.email, user.password), wrongRecovery)).statusCode).to.equal(
      401,
    )

    const recovered = await second(await challengeFor(user.email, user.password), {
      recoveryCode: (recoveryCodes as string[])[0] as string,
    })
    expect(recovered.statusCode).to.equal(200)
    await smtp.next(user.email, since, 'A recovery code was used')
    const warnings = smtp.mails
      .slice(since)
      .filter((m) => m.to.includes(user.email) && m.raw.includes(SUBJECT))
    expect(warnings).to.have.length(1)
    // The successful sign-in forgot the wrong answers: codes work again.
    const next = await second(await challengeFor(user.email, user.password), { code: codeAt(secret, 1) })
    expect(next.statusCode).to.equal(200)
  })

  it('takes codes again after a password reset', async () => {
    const user = await login(app)
    const { secret } = await enrolMfa(app, user.token, user.password)
    await lockOut(user.email, user.password)
    const since = smtp.mails.length
    await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: user.email } })
    const mail = await smtp.next(user.email, since, 'Reset your password')
    const reset = await app.inject({
      method: 'POST',
      url: '/v1/auth/password-reset/confirm',
      payload: { token: tokenIn(mail), password: NEW_PASSWORD },
    })
    expect(reset.statusCode).to.equal(204)
    const after = await second(await challengeFor(user.email, NEW_PASSWORD), { code: codeAt(secret, 1) })
    expect(after.statusCode).to.equal(200)
  })
})

describe('MFA second step under the hashing limiter', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE_MAX: '0' })
  })
  after(() => app.close())

  it('sheds the second step with 503 OVERLOADED while every hashing slot is busy', async () => {
    const user = await login(app)
    const { secret } = await enrolMfa(app, user.token, user.password)
    const { challenge } = (
      await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: user.password },
      })
    ).json()
    let release = () => {}
    const busy = app.passwords.limiter.run(() => new Promise<void>((resolve) => (release = resolve)))
    const shed = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge, code: codeAt(secret, 1) },
    })
    release()
    await busy
    expect(shed.statusCode).to.equal(503)
    expect(shed.json().error.code).to.equal('OVERLOADED')
    expect(shed.headers['retry-after']).to.match(/^\d+$/)
  })
})

describe('REQUIRE_MFA', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp({ REQUIRE_MFA: 'true' })
  })
  after(() => app.close())

  it('gives a user without MFA a session that can only enrol, then a full one after confirming', async () => {
    const user = await login(app)
    expect(user.response.json().mfaEnrolmentRequired).to.equal(true)
    const call = (method: 'GET' | 'POST', url: string, token: string) =>
      app.inject({ method, url, headers: bearer(token) })
    const refused = await call('GET', '/v1/accounts', user.token)
    expect(refused.statusCode).to.equal(403)
    expect(refused.json().error.code).to.equal('MFA_ENROLMENT_REQUIRED')
    expect((await call('GET', '/v1/me', user.token)).statusCode).to.equal(200)
    const status = await call('GET', '/v1/me/mfa', user.token)
    expect(status.json()).to.include({ enabled: false, required: true })

    const { secret, token } = await enrolMfa(app, user.token, user.password)
    expect((await call('GET', '/v1/accounts', token)).statusCode).to.equal(200)
    // The restricted session is gone with the rotation; the next login asks for the code.
    expect((await call('GET', '/v1/me', user.token)).statusCode).to.equal(401)
    const next = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    })
    expect(next.json().mfaRequired).to.equal(true)
    const done = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge: next.json().challenge, code: codeAt(secret, 1) },
    })
    expect(done.json()).to.not.have.property('mfaEnrolmentRequired')
    expect((await call('GET', '/v1/accounts', done.json().token)).statusCode).to.equal(200)
    const off = await app.inject({
      method: 'DELETE',
      url: '/v1/me/mfa',
      headers: bearer(done.json().token),
      payload: { password: user.password, recoveryCode: 'aaaaaa-aaaaaa-aaaaaa-aaaaaa' },
    })
    expect(off.statusCode).to.equal(403)
    expect(off.json().error.code).to.equal('MFA_REQUIRED')
  })
})

describe('switching REQUIRE_MFA on', () => {
  // The same database and Redis before and after the redeploy that turns the policy on.
  const shared = { REDIS_KEY_PREFIX: freshRedisPrefix() }
  let before_: FastifyInstance
  let after_: FastifyInstance
  before(async () => {
    before_ = await buildTestApp({ ...shared, REQUIRE_MFA: 'false' })
    after_ = await buildTestApp({ ...shared, REQUIRE_MFA: 'true' })
  })
  after(async () => {
    await before_.close()
    await after_.close()
  })

  it('restricts a full session that began without a second factor to enrolling', async () => {
    const plain = await login(before_)
    const enrolled = await login(before_)
    const { secret } = await enrolMfa(before_, enrolled.token, enrolled.password)
    const step = await before_.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: enrolled.email, password: enrolled.password },
    })
    const withCode = await before_.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge: step.json().challenge, code: codeAt(secret, 1) },
    })
    const call = (method: 'GET' | 'POST', url: string, token: string) =>
      after_.inject({ method, url, headers: bearer(token) })

    const refused = await call('GET', '/v1/accounts', plain.token)
    expect(refused.statusCode).to.equal(403)
    expect(refused.json().error.code).to.equal('MFA_ENROLMENT_REQUIRED')
    expect((await call('GET', '/v1/me', plain.token)).statusCode).to.equal(200)
    expect((await call('GET', '/v1/accounts', withCode.json().token)).statusCode).to.equal(200)
    // The session itself says whether it began with a second factor: no database read per request.
    expect((await after_.sessions.touch(withCode.json().token))?.mfa).to.equal(true)
    expect((await after_.sessions.touch(plain.token))?.mfa).to.equal(false)
    // Enrolling from the restricted session rotates it into a full one.
    const { token } = await enrolMfa(after_, plain.token, plain.password)
    expect((await call('GET', '/v1/accounts', token)).statusCode).to.equal(200)
  })
})

describe('REQUIRE_MFA_FOR_ADMIN', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp({ REQUIRE_MFA_FOR_ADMIN: 'true' })
  })
  after(() => app.close())

  it('answers an admin without MFA 403 MFA_REQUIRED on admin routes until they enrol', async () => {
    const user = await login(app)
    await setUserRole(app, user.user.id, 'admin')
    const admin = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    })
    const url = '/v1/admin/reports/daily?from=2025-01-01&to=2025-01-02'
    const before = await app.inject({ method: 'GET', url, headers: bearer(admin.json().token) })
    expect(before.statusCode).to.equal(403)
    expect(before.json().error.code).to.equal('MFA_REQUIRED')
    // Their own routes still work: they can enrol.
    const { token } = await enrolMfa(app, admin.json().token, user.password)
    const after = await app.inject({ method: 'GET', url, headers: bearer(token) })
    expect(after.statusCode).to.equal(200)
  })

  it('is on by default', async () => {
    const { loadConfig } = await import('../../src/config.js')
    const config = loadConfig({ DATABASE_URL: 'postgres://x/y', REDIS_URL: 'redis://127.0.0.1:6379' })
    expect(config.mfa.requireForAdmin).to.equal(true)
    expect(config.mfa.requireForAll).to.equal(false)
  })
})
