import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from './helpers/app.js'
import { bearer, login } from './helpers/users.js'

describe('accounts: GET/POST /v1/accounts', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp({ OUTBOX_RELAY_ENABLED: 'false' })
  })
  after(async () => {
    await app.close()
  })

  it('opens an account with a zero balance as a string of minor units', async () => {
    const { token } = await login(app)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: bearer(token),
      payload: { currency: 'EUR', name: 'Daily' },
    })
    expect(res.statusCode).to.equal(201)
    const { account } = res.json()
    expect(account).to.include({ currency: 'EUR', name: 'Daily', balance: '0' })
    expect(account.id).to.match(/^[0-9a-f-]{36}$/)
  })

  it("lists only the caller's own accounts, oldest first", async () => {
    const alice = await login(app)
    const bob = await login(app)
    for (const currency of ['EUR', 'USD']) {
      await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        headers: bearer(alice.token),
        payload: { currency },
      })
    }
    await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: bearer(bob.token),
      payload: { currency: 'JPY' },
    })
    const res = await app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(alice.token) })
    expect(res.statusCode).to.equal(200)
    expect(res.json().items.map((a: { currency: string }) => a.currency)).to.deep.equal(['EUR', 'USD'])
  })

  it('refuses a code that is not ISO 4217, lower case, or unknown fields with 400', async () => {
    const { token } = await login(app)
    for (const payload of [{ currency: 'XQQ' }, { currency: 'eur' }, { currency: 'EUR', balance: '100' }]) {
      const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(token), payload })
      expect(res.statusCode, JSON.stringify(payload)).to.equal(400)
      expect(res.json().error.code).to.equal('VALIDATION_FAILED')
    }
  })

  it('answers 401 without a session', async () => {
    const list = await app.inject({ method: 'GET', url: '/v1/accounts' })
    const open = await app.inject({ method: 'POST', url: '/v1/accounts', payload: { currency: 'EUR' } })
    expect([list.statusCode, open.statusCode]).to.deep.equal([401, 401])
  })

  it('documents the accounts, transactions and notifications routes with their schemas in OpenAPI', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const expected = {
      '/v1/accounts': ['get', 'post'],
      '/v1/transactions': ['post', 'get'],
      '/v1/transactions/{id}': ['get'],
      '/v1/notifications': ['get'],
      '/v1/notifications/stream': ['get'],
      '/v1/notifications/{id}/read': ['post'],
    }
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path] ?? {}), path).to.have.members(methods)
    }
    const post = doc.paths['/v1/transactions'].post
    expect(post.parameters.map((p: { name: string }) => p.name)).to.include('idempotency-key')
    expect(Object.keys(post.responses)).to.include.members(['201', '400', '404', '422'])
    expect(doc.paths['/v1/notifications/stream'].get.responses['200'].content).to.have.property(
      'text/event-stream',
    )
  })
})
