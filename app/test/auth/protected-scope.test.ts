import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { bearer, login } from '../helpers/users.js'

describe('the protected scope: authenticate and authorise before parsing', () => {
  let app: FastifyInstance

  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app.close()
  })

  it('answers an anonymous body of 60,000 unknown fields with a small 401, fast', async () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`f${i}`, i])))
    const started = performance.now()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: { 'content-type': 'application/json' },
      payload: body,
    })
    const ms = performance.now() - started
    expect(res.statusCode).to.equal(401)
    expect(res.json().error.code).to.equal('UNAUTHORIZED')
    expect(res.body.length).to.be.below(300)
    expect(ms).to.be.below(100)
  })

  for (const [method, url] of [
    ['POST', '/v1/transactions'],
    ['POST', '/v1/uploads'],
    ['GET', '/v1/search?q='],
    ['PATCH', '/v1/me'],
    ['DELETE', '/v1/me'],
    ['GET', '/v1/notifications?limit=abc'],
    ['GET', '/v1/admin/reports/daily?days=not-a-number'],
  ] as const) {
    it(`${method} ${url}: anonymous and invalid is 401, not 400`, async () => {
      const res = await app.inject({ method, url, payload: method === 'GET' ? undefined : { bogus: true } })
      expect(res.statusCode).to.equal(401)
    })
  }

  it('answers a user on an admin route with 403 before validating the query', async () => {
    const user = await login(app)
    const res = await app.inject({
      method: 'GET',
      url: '/v1/admin/reports/daily?from=garbage&extra=1',
      headers: bearer(user.token),
    })
    expect(res.statusCode).to.equal(403)
    expect(res.json().error.code).to.equal('FORBIDDEN')
  })

  it('marks authenticated answers and the login answer Cache-Control: no-store', async () => {
    const user = await login(app)
    expect(user.response.headers['cache-control']).to.equal('no-store')
    const me = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
    expect(me.statusCode).to.equal(200)
    expect(me.headers['cache-control']).to.equal('no-store')
    const accounts = await app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(user.token) })
    expect(accounts.headers['cache-control']).to.equal('no-store')
  })

  describe('cookie-authenticated writes (CSRF)', () => {
    const cookie = (token: string) => ({ '__Host-sid': token })

    it('refuses a body-less POST with the cookie, neither JSON nor a matching Origin (403)', async () => {
      const user = await login(app)
      for (const headers of [
        {},
        { origin: 'https://evil.example' },
        { origin: 'null' },
        { 'content-type': 'text/plain' },
      ]) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/logout',
          cookies: cookie(user.cookie),
          headers,
        })
        expect(res.statusCode, JSON.stringify(headers)).to.equal(403)
      }
      // Still logged in: nothing happened.
      const me = await app.inject({ method: 'GET', url: '/v1/me', cookies: cookie(user.cookie) })
      expect(me.statusCode).to.equal(200)
    })

    it('accepts it with the service’s own Origin, and any Bearer request without one', async () => {
      const user = await login(app)
      const res = await app.inject({
        method: 'DELETE',
        url: '/v1/me/sessions',
        cookies: cookie(user.cookie),
        headers: { origin: 'http://localhost' },
      })
      expect(res.statusCode).to.equal(200)
      const other = await login(app)
      const viaBearer = await app.inject({
        method: 'POST',
        url: '/v1/auth/logout',
        headers: bearer(other.token),
      })
      expect(viaBearer.statusCode).to.equal(204)
    })

    it('accepts a cookie write with a JSON body (a cross-site page cannot send one without CORS)', async () => {
      const user = await login(app)
      const res = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        cookies: cookie(user.cookie),
        payload: { name: 'Renamed' },
      })
      expect(res.statusCode).to.equal(200)
    })

    it('accepts a configured extra origin (ALLOWED_ORIGINS)', async () => {
      const web = await buildTestApp({ ALLOWED_ORIGINS: 'https://app.example.com' })
      try {
        const user = await login(web)
        const res = await web.inject({
          method: 'POST',
          url: '/v1/auth/logout',
          cookies: cookie(user.cookie),
          headers: { origin: 'https://app.example.com' },
        })
        expect(res.statusCode).to.equal(204)
      } finally {
        await web.close()
      }
    })
  })
})
