// Step-up: with MFA on, a session plus the password no longer changes the email or the password,
// nor erases the account; each needs a fresh second factor, judged like the login's second step.
import { expect } from 'chai'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { accountLockKey } from '../../src/features/auth/lockout.js'
import { buildTestApp } from '../helpers/app.js'
import { codeAt, enrolMfa } from '../helpers/mfa.js'
import { startS3, type TestS3 } from '../helpers/s3.js'
import { startSmtpSink } from '../helpers/smtp.js'
import { bearer, login, uniqueEmail } from '../helpers/users.js'

const NEW_PASSWORD = 'a different long passphrase'

type Factor = { code?: string; recoveryCode?: string }
type Action = {
  name: string
  /** The request, with the password right and the given factor (or none). */
  send: (
    app: FastifyInstance,
    token: string,
    password: string,
    factor: Factor,
  ) => Promise<LightMyRequestResponse>
  ok: number
}

const ACTIONS: Action[] = [
  {
    name: 'email change (POST /v1/me/email)',
    send: (app, token, password, factor) =>
      app.inject({
        method: 'POST',
        url: '/v1/me/email',
        headers: bearer(token),
        payload: { email: uniqueEmail('new'), password, ...factor },
      }),
    ok: 202,
  },
  {
    name: 'password change (POST /v1/me/password)',
    send: (app, token, password, factor) =>
      app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(token),
        payload: { currentPassword: password, newPassword: NEW_PASSWORD, ...factor },
      }),
    ok: 200,
  },
  {
    name: 'erasure (DELETE /v1/me)',
    send: (app, token, password, factor) =>
      app.inject({
        method: 'DELETE',
        url: '/v1/me',
        headers: bearer(token),
        payload: { password, ...factor },
      }),
    ok: 200,
  },
]

describe('step-up: a fresh second factor for account-takeover actions', () => {
  let app: FastifyInstance
  let s3: TestS3
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>
  before(async () => {
    smtp = await startSmtpSink()
    s3 = await startS3()
    // Every test registers fresh users from the one inject address.
    app = await buildTestApp({
      ...s3.env,
      SMTP_URL: smtp.url,
      APP_BASE_URL: 'https://app.example.com',
      REGISTER_MAX_PER_IP: '200',
    })
  })
  after(async () => {
    await app.close()
    await s3.close()
    await smtp.close()
  })

  const enrolled = async () => {
    const user = await login(app)
    return { ...user, ...(await enrolMfa(app, user.token, user.password)) }
  }
  const passwordStillWorks = async (email: string, password: string) =>
    (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })).json()
      .mfaRequired === true

  for (const action of ACTIONS) {
    describe(action.name, () => {
      it('refuses the password alone with 403 MFA_CODE_REQUIRED naming the field, and changes nothing', async () => {
        const user = await enrolled()
        const res = await action.send(app, user.token, user.password, {})
        expect(res.statusCode).to.equal(403)
        expect(res.json().error.code).to.equal('MFA_CODE_REQUIRED')
        expect(res.json().error.details).to.deep.equal([
          { field: 'code', message: 'a current 6-digit code, or recoveryCode, is required' },
        ])
        const row = await app.prisma.user.findUniqueOrThrow({ where: { id: user.user.id } })
        expect(row.deletedAt).to.equal(null)
        expect(await passwordStillWorks(user.email, user.password)).to.equal(true)
        expect(
          (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })).statusCode,
        ).to.equal(200)
      })

      it('asks for the code before it looks at the password: a wrong one is no oracle', async () => {
        const user = await enrolled()
        const res = await action.send(app, user.token, 'not my password', {})
        expect(res.statusCode).to.equal(403)
        expect(res.json().error.code).to.equal('MFA_CODE_REQUIRED')
      })

      it('refuses a wrong code with 403 INVALID_MFA_CODE and accepts a current one', async () => {
        const user = await enrolled()
        const wrong = await action.send(app, user.token, user.password, { code: '000000' })
        expect(wrong.statusCode).to.equal(403)
        expect(wrong.json().error.code).to.equal('INVALID_MFA_CODE')
        expect(await passwordStillWorks(user.email, user.password)).to.equal(true)
        const right = await action.send(app, user.token, user.password, { code: codeAt(user.secret, 1) })
        expect(right.statusCode, right.body).to.equal(action.ok)
      })

      it('accepts one recovery code, spends it, and never spends one behind a wrong password', async () => {
        const user = await enrolled()
        const [first, second] = user.recoveryCodes as [string, string]
        const badPassword = await action.send(app, user.token, 'not my password', { recoveryCode: first })
        expect(badPassword.statusCode).to.equal(403)
        expect(badPassword.json().error.code).to.equal('REAUTHENTICATION_FAILED')
        const unused = await app.prisma.mfaRecoveryCode.count({
          where: { userId: user.user.id, usedAt: null },
        })
        expect(unused).to.equal(10)
        const res = await action.send(app, user.token, user.password, { recoveryCode: second })
        expect(res.statusCode, res.body).to.equal(action.ok)
        // The erasure deletes the codes altogether (gdpr.test.ts).
        if (!action.name.startsWith('erasure')) {
          const left = await app.prisma.mfaRecoveryCode.count({
            where: { userId: user.user.id, usedAt: null },
          })
          expect(left).to.equal(9)
        }
      })
    })
  }

  it('checks the new password against the policy before it spends a recovery code', async () => {
    const user = await enrolled()
    const weak = await app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(user.token),
      payload: { currentPassword: user.password, newPassword: 'short', recoveryCode: user.recoveryCodes[0] },
    })
    expect(weak.statusCode).to.equal(400)
    const unused = await app.prisma.mfaRecoveryCode.count({ where: { userId: user.user.id, usedAt: null } })
    expect(unused).to.equal(10)
  })

  it('refuses a TOTP step already spent on the login', async () => {
    const user = await enrolled()
    const code = codeAt(user.secret, 1)
    const step = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    })
    const signedIn = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge: step.json().challenge, code },
    })
    expect(signedIn.statusCode).to.equal(200)
    const replay = await ACTIONS[1]?.send(app, signedIn.json().token, user.password, { code })
    expect(replay?.statusCode).to.equal(403)
    expect(replay?.json().error.code).to.equal('INVALID_MFA_CODE')
  })

  it('keeps the password alone enough for users without MFA', async () => {
    for (const action of ACTIONS) {
      const user = await login(app)
      const res = await action.send(app, user.token, user.password, {})
      expect(res.statusCode, `${action.name}: ${res.body}`).to.equal(action.ok)
    }
    const user = await login(app)
    const wrong = await ACTIONS[1]?.send(app, user.token, 'not my password', {})
    expect(wrong?.json().error.code).to.equal('REAUTHENTICATION_FAILED')
  })

  it('mails the owner when a recovery code is spent on a step-up, without saying "signed in"', async () => {
    const user = await enrolled()
    const since = smtp.mails.length
    const res = await ACTIONS[0]?.send(app, user.token, user.password, {
      recoveryCode: user.recoveryCodes[0],
    })
    expect(res?.statusCode, res?.body).to.equal(202)
    const mail = await smtp.next(user.email, since, 'A recovery code was used')
    expect(mail.decoded).to.include('to confirm a sensitive change')
    expect(mail.decoded).not.to.include('signed in')
  })

  it('asks for the factor with 403 MFA_CODE_REQUIRED on MFA off and new recovery codes too', async () => {
    for (const [method, url] of [
      ['DELETE', '/v1/me/mfa'],
      ['POST', '/v1/me/mfa/recovery-codes'],
    ] as const) {
      const user = await enrolled()
      for (const password of [user.password, 'not my password']) {
        const res = await app.inject({ method, url, headers: bearer(user.token), payload: { password } })
        expect(res.statusCode, `${method} ${url}`).to.equal(403)
        expect(res.json().error.code).to.equal('MFA_CODE_REQUIRED')
      }
      expect(
        await app.prisma.userMfa.count({ where: { userId: user.user.id, enabledAt: { not: null } } }),
      ).to.equal(1)
    }
  })

  it('ignores a factor sent by a user without MFA, even both fields at once', async () => {
    const user = await login(app)
    const both = { code: '123456', recoveryCode: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF' }
    const off = await app.inject({
      method: 'DELETE',
      url: '/v1/me/mfa',
      headers: bearer(user.token),
      payload: { password: user.password, ...both },
    })
    expect(off.statusCode, off.body).to.equal(409)
    expect(off.json().error.code).to.equal('MFA_NOT_ENABLED')
    const res = await ACTIONS[0]?.send(app, user.token, user.password, both)
    expect(res?.statusCode, res?.body).to.equal(202)
  })

  it('documents the factor fields on every step-up operation', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const bodyOf = (path: string, method: string) =>
      doc.paths[path][method].requestBody.content['application/json'].schema.properties
    for (const [path, method] of [
      ['/v1/me/email', 'post'],
      ['/v1/me/password', 'post'],
      ['/v1/me', 'delete'],
      ['/v1/me/mfa', 'delete'],
      ['/v1/me/mfa/recovery-codes', 'post'],
    ] as const) {
      expect(bodyOf(path, method), `${method} ${path}`).to.include.keys('code', 'recoveryCode')
    }
  })
})

describe('step-up codes count against the login budgets', () => {
  let app: FastifyInstance
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>
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

  const changePassword = (token: string, password: string, factor: Factor) =>
    app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(token),
      payload: { currentPassword: password, newPassword: NEW_PASSWORD, ...factor },
    })

  it('locks codes for the day after the budget is spent, at the login too, mails the owner, and a recovery code still works', async () => {
    const user = await login(app)
    const { secret, recoveryCodes, token } = await enrolMfa(app, user.token, user.password)
    const since = smtp.mails.length
    for (let i = 0; i < 3; i++) {
      const wrong = await changePassword(token, user.password, { code: '000000' })
      expect(wrong.json().error.code).to.equal('INVALID_MFA_CODE')
    }
    await smtp.next(user.email, since, 'Your password was used but the code was wrong')

    const locked = await changePassword(token, user.password, { code: codeAt(secret, 1) })
    expect(locked.statusCode).to.equal(403)
    expect(locked.json().error.code).to.equal('MFA_CODES_LOCKED')
    // One budget: the login's second step is locked by the same wrong answers.
    const step = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    })
    const atLogin = await app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge: step.json().challenge, code: codeAt(secret, 1) },
    })
    expect(atLogin.json().error.code).to.equal('MFA_CODES_LOCKED')

    const recovered = await changePassword(token, user.password, {
      recoveryCode: (recoveryCodes as string[])[0] as string,
    })
    expect(recovered.statusCode, recovered.body).to.equal(200)
    // The right answer forgave the wrong ones, as a sign-in does: codes work again.
    const again = await app.inject({
      method: 'POST',
      url: '/v1/me/email',
      headers: bearer(recovered.json().token),
      payload: { email: uniqueEmail('new'), password: NEW_PASSWORD, code: codeAt(secret, 1) },
    })
    expect(again.statusCode, again.body).to.equal(202)
  })

  it('locks MFA off and recovery-code regeneration behind the same budget', async () => {
    const user = await login(app)
    const { secret, token } = await enrolMfa(app, user.token, user.password)
    for (let i = 0; i < 3; i++) {
      const wrong = await app.inject({
        method: 'DELETE',
        url: '/v1/me/mfa',
        headers: bearer(token),
        payload: { password: user.password, code: '000000' },
      })
      expect(wrong.json().error.code).to.equal('INVALID_MFA_CODE')
    }
    const regenerate = await app.inject({
      method: 'POST',
      url: '/v1/me/mfa/recovery-codes',
      headers: bearer(token),
      payload: { password: user.password, code: codeAt(secret, 1) },
    })
    expect(regenerate.statusCode).to.equal(403)
    expect(regenerate.json().error.code).to.equal('MFA_CODES_LOCKED')
    expect(await app.prisma.userMfa.count({ where: { userId: user.user.id } })).to.equal(1)
  })
})

describe('step-up codes count against the login throttle', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp({ LOGIN_MAX_PER_ACCOUNT: '3' })
  })
  after(() => app.close())

  it('charges wrong codes from an untrusted client to the account: 429 once its budget is spent', async () => {
    const user = await login(app)
    const { secret, token } = await enrolMfa(app, user.token, user.password)
    const erase = (code: string) =>
      app.inject({
        method: 'DELETE',
        url: '/v1/me',
        headers: bearer(token),
        payload: { password: user.password, code },
      })
    for (let i = 0; i < 3; i++) expect((await erase('000000')).statusCode).to.equal(403)
    // The same counter as untrusted logins: a stranger's login is throttled too.
    await expectThrottled(app, await erase(codeAt(secret, 1)), user)
  })
})

describe('re-authentication passwords count against the login throttle', () => {
  let app: FastifyInstance
  let s3: TestS3
  before(async () => {
    s3 = await startS3()
    app = await buildTestApp({ ...s3.env, LOGIN_MAX_PER_ACCOUNT: '3', REGISTER_MAX_PER_IP: '200' })
  })
  after(async () => {
    await app.close()
    await s3.close()
  })

  const charged = async (email: string) => Number((await app.redis.get(accountLockKey(email))) ?? 0)
  type Reauth = (token: string, password: string, factor: Factor) => Promise<LightMyRequestResponse>
  const send =
    (method: 'POST' | 'DELETE', url: string, body: (password: string) => object): Reauth =>
    (token, password, factor) =>
      app.inject({ method, url, headers: bearer(token), payload: { ...body(password), ...factor } })
  const ROUTES: [string, Reauth][] = [
    [
      'POST /v1/me/password',
      send('POST', '/v1/me/password', (p) => ({ currentPassword: p, newPassword: NEW_PASSWORD })),
    ],
    ['POST /v1/me/email', send('POST', '/v1/me/email', (p) => ({ password: p, email: uniqueEmail('new') }))],
    ['DELETE /v1/me', send('DELETE', '/v1/me', (p) => ({ password: p }))],
    ['DELETE /v1/me/mfa', send('DELETE', '/v1/me/mfa', (p) => ({ password: p }))],
    ['POST /v1/me/mfa/recovery-codes', send('POST', '/v1/me/mfa/recovery-codes', (p) => ({ password: p }))],
    ['POST /v1/me/mfa/enrolment', send('POST', '/v1/me/mfa/enrolment', (p) => ({ password: p }))],
  ]

  for (const [name, reauth] of ROUTES) {
    it(`${name}: a wrong password is charged to the account's login counter, a right one is not`, async () => {
      const user = await login(app)
      // The MFA routes need MFA on to reach the password (a factor first); enrolment needs it off.
      const mfa = name.includes('/mfa') && !name.endsWith('enrolment')
      const enrolment = mfa ? await enrolMfa(app, user.token, user.password) : undefined
      const token = enrolment?.token ?? user.token
      const factor = enrolment ? { code: '000000' } : {}
      const before = await charged(user.email)
      const wrong = await reauth(token, 'not my password', factor)
      expect(wrong.statusCode, wrong.body).to.equal(403)
      expect(wrong.json().error.code).to.equal('REAUTHENTICATION_FAILED')
      expect(await charged(user.email)).to.equal(before + 1)
      // A right password gives its charge back (a wrong code keeps its own, as at the login).
      const right = await reauth(token, user.password, enrolment ? { code: codeAt(enrolment.secret, 1) } : {})
      expect(right.statusCode, right.body).to.be.oneOf([200, 201, 202])
      // The erasure deletes the counter with the account (erasure-redis.test.ts).
      if (name !== 'DELETE /v1/me') expect(await charged(user.email)).to.equal(before + 1)
    })
  }

  it('refuses password guesses from a stolen session with 429 once the budget is spent, logins too', async () => {
    const user = await login(app)
    const [, guess] = ROUTES[0] as [string, Reauth]
    for (let i = 0; i < 3; i++) expect((await guess(user.token, `guess ${i}`, {})).statusCode).to.equal(403)
    await expectThrottled(app, await guess(user.token, user.password, {}), user)
  })

  it("keeps the owner's known device working while strangers are refused", async () => {
    const user = await login(app)
    const deviceToken = user.response.json().deviceToken as string
    const [, guess] = ROUTES[1] as [string, Reauth]
    for (let i = 0; i < 3; i++) await guess(user.token, `guess ${i}`, {})
    expect((await guess(user.token, user.password, {})).statusCode).to.equal(429)
    const owner = await app.inject({
      method: 'POST',
      url: '/v1/me/email',
      headers: { ...bearer(user.token), 'x-device-token': deviceToken },
      payload: { email: uniqueEmail('new'), password: user.password },
    })
    expect(owner.statusCode, owner.body).to.equal(202)
  })
})

/** `refused` is a 429 with Retry-After, and a stranger's login to the same account is refused too. */
async function expectThrottled(
  app: FastifyInstance,
  refused: LightMyRequestResponse,
  user: { email: string; password: string },
) {
  expect(refused.statusCode).to.equal(429)
  expect(refused.headers['retry-after']).to.match(/^\d+$/)
  const stranger = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: user.email, password: user.password },
  })
  expect(stranger.statusCode).to.equal(429)
}
