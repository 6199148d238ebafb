import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { bearer, GOOD_PASSWORD, login, register, uniqueEmail } from '../helpers/users.js'

describe('accounts: register, login, me, logout', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app.close()
  })

  it('registers an account and answers 201 with the user, never the hash', async () => {
    const email = uniqueEmail()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: GOOD_PASSWORD, name: 'Ada' },
    })
    expect(res.statusCode).to.equal(201)
    const { user } = res.json()
    expect(user).to.include({ email, name: 'Ada', role: 'user' })
    expect(user.id).to.match(/^[0-9a-f-]{36}$/)
    expect(res.body).not.to.include('argon2')
    expect(res.body).not.to.include(GOOD_PASSWORD)
  })

  it('rejects a duplicate email whatever its case with 409', async () => {
    const { email } = await register(app)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: `  ${email.toUpperCase()} `.trim(), password: GOOD_PASSWORD, name: 'Twin' },
    })
    expect(res.statusCode).to.equal(409)
    expect(res.json().error.code).to.equal('EMAIL_TAKEN')
  })

  it('logs in with any case of the email and returns user, token and expiry', async () => {
    const account = await register(app)
    const before = Date.now()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: account.email.toUpperCase(), password: account.password },
    })
    expect(res.statusCode).to.equal(200)
    const body = res.json()
    expect(body.user.id).to.equal(account.user.id)
    expect(body.token).to.be.a('string')
    const expiresIn = Date.parse(body.expiresAt) - before
    expect(expiresIn).to.be.within(1799_000, 1801_000)
  })

  it('reads /v1/me with the bearer token and with the cookie', async () => {
    const session = await login(app)
    const viaBearer = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
    expect(viaBearer.statusCode).to.equal(200)
    expect(viaBearer.json()).to.include({ id: session.user.id, email: session.email })

    const viaCookie = await app.inject({
      method: 'GET',
      url: '/v1/me',
      cookies: { '__Host-sid': session.cookie },
    })
    expect(viaCookie.statusCode).to.equal(200)
    expect(viaCookie.json().id).to.equal(session.user.id)
  })

  it('answers 401 on /v1/me without a session, with a malformed or an unknown token', async () => {
    for (const headers of [{}, bearer('nope'), bearer('A'.repeat(43)), { authorization: 'Basic abc' }]) {
      const res = await app.inject({ method: 'GET', url: '/v1/me', headers })
      expect(res.statusCode, JSON.stringify(headers)).to.equal(401)
      expect(res.json().error.code).to.equal('UNAUTHORIZED')
    }
  })

  it('logout answers 204 and the session stops working for both bearer and cookie', async () => {
    const session = await login(app)
    const out = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(session.token) })
    expect(out.statusCode).to.equal(204)
    expect(out.cookies.find((c) => c.name === '__Host-sid')?.value).to.equal('')
    const viaBearer = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(session.token) })
    const viaCookie = await app.inject({
      method: 'GET',
      url: '/v1/me',
      cookies: { '__Host-sid': session.cookie },
    })
    expect(viaBearer.statusCode).to.equal(401)
    expect(viaCookie.statusCode).to.equal(401)
  })

  it('answers 401 with the same body for an unknown email and for a wrong password', async () => {
    const account = await register(app)
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: account.email, password: 'not the right password' },
    })
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: uniqueEmail('ghost'), password: 'not the right password' },
    })
    expect(wrong.statusCode).to.equal(401)
    expect(unknown.statusCode).to.equal(401)
    const strip = (body: { error: { requestId: string } }) => ({ ...body.error, requestId: undefined })
    expect(strip(wrong.json())).to.deep.equal(strip(unknown.json()))
    expect(wrong.json().error.code).to.equal('INVALID_CREDENTIALS')
  })
})
