import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { login } from '../helpers/users.js'

const WEB = 'https://static.example.com'
const EVIL = 'https://evil.example.net'

describe('CORS and CSRF for the web client', () => {
  let app: FastifyInstance
  let session: Awaited<ReturnType<typeof login>>
  before(async () => {
    app = await buildTestApp({ WEB_ORIGINS: `${WEB},http://localhost:5173` })
    session = await login(app)
  })
  after(async () => {
    await app.close()
  })

  const cookie = () => ({ cookie: `${session.response.cookies[0]?.name}=${session.cookie}` })
  // A different currency each time, in case accounts are unique per user and currency.
  const currencies = ['EUR', 'USD', 'GBP', 'JPY', 'CHF', 'SEK', 'NOK', 'DKK']
  const createAccount = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/accounts', headers, payload: { currency: currencies.shift() } })

  it('answers a preflight from an allowed origin with credentials and the custom headers', async () => {
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/v1/transactions',
      headers: {
        origin: WEB,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key',
      },
    })
    expect(res.statusCode).to.equal(204)
    expect(res.headers['access-control-allow-origin']).to.equal(WEB)
    expect(res.headers['access-control-allow-credentials']).to.equal('true')
    expect(String(res.headers['access-control-allow-headers'])).to.match(/Idempotency-Key/)
  })

  it('gives no CORS headers to an origin that is not listed', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/live', headers: { origin: EVIL } })
    expect(res.headers).not.to.have.property('access-control-allow-origin')
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/v1/accounts',
      headers: { origin: EVIL, 'access-control-request-method': 'POST' },
    })
    expect(pre.headers).not.to.have.property('access-control-allow-origin')
    expect(pre.headers).not.to.have.property('access-control-allow-credentials')
  })

  it('refuses a cookie-authenticated write from a cross-site page', async () => {
    const res = await createAccount({ ...cookie(), origin: EVIL, 'sec-fetch-site': 'cross-site' })
    expect(res.statusCode).to.equal(403)
    expect(res.json().error.code).to.equal('CSRF_REJECTED')
  })

  it('refuses a cookie-authenticated write with a foreign Origin and no Fetch Metadata', async () => {
    const res = await createAccount({ ...cookie(), origin: EVIL })
    expect(res.statusCode).to.equal(403)
  })

  it('accepts a cookie-authenticated write from the web client origin (same-site)', async () => {
    const res = await createAccount({ ...cookie(), origin: WEB, 'sec-fetch-site': 'same-site' })
    expect(res.statusCode).to.equal(201)
    expect(res.headers['access-control-allow-origin']).to.equal(WEB)
  })

  it('accepts same-origin writes and non-browser clients without Origin', async () => {
    expect((await createAccount({ ...cookie(), 'sec-fetch-site': 'same-origin' })).statusCode).to.equal(201)
    expect((await createAccount(cookie())).statusCode).to.equal(201)
  })

  it('does not apply to bearer-token requests, which a forged page cannot send', async () => {
    const res = await createAccount({
      authorization: `Bearer ${session.token}`,
      origin: EVIL,
      'sec-fetch-site': 'cross-site',
    })
    expect(res.statusCode).to.equal(201)
  })

  it('lets cross-site reads through (they cannot change state, and CORS hides the answer)', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/accounts',
      headers: { ...cookie(), origin: EVIL, 'sec-fetch-site': 'cross-site' },
    })
    expect(res.statusCode).to.equal(200)
    expect(res.headers).not.to.have.property('access-control-allow-origin')
  })
})
