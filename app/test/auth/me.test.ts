import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { bearer, login } from '../helpers/users.js'

describe('profile and preferences (/v1/me)', () => {
  let app: FastifyInstance
  let auth: Record<string, string>
  before(async () => {
    app = await buildTestApp({ PREFERENCES_MAX_BYTES: '1024' })
    auth = bearer((await login(app)).token)
  })
  after(async () => {
    await app.close()
  })

  it('PATCH /v1/me changes profile fields and returns the updated user', async () => {
    const res = await app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: auth,
      payload: { name: 'Grace Hopper', locale: 'en-US', timezone: 'America/New_York' },
    })
    expect(res.statusCode).to.equal(200)
    expect(res.json()).to.include({ name: 'Grace Hopper', locale: 'en-US', timezone: 'America/New_York' })
    const again = await app.inject({ method: 'GET', url: '/v1/me', headers: auth })
    expect(again.json()).to.include({ name: 'Grace Hopper', locale: 'en-US' })
  })

  it('PATCH /v1/me can clear an optional field with null', async () => {
    await app.inject({ method: 'PATCH', url: '/v1/me', headers: auth, payload: { timezone: 'UTC' } })
    const res = await app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: auth,
      payload: { timezone: null },
    })
    expect(res.json().timezone).to.equal(null)
  })

  it('PATCH /v1/me refuses email, role or unknown fields, empty bodies and bad values', async () => {
    for (const payload of [
      { role: 'admin' },
      { email: 'x@example.com' },
      {},
      { name: '' },
      { avatarUrl: 'http://x' },
    ]) {
      const res = await app.inject({ method: 'PATCH', url: '/v1/me', headers: auth, payload })
      expect(res.statusCode, JSON.stringify(payload)).to.equal(400)
      expect(res.json().error.code).to.equal('VALIDATION_FAILED')
    }
    const me = await app.inject({ method: 'GET', url: '/v1/me', headers: auth })
    expect(me.json().role).to.equal('user')
  })

  it('preferences start empty and PUT replaces them with a JSON object', async () => {
    const initial = await app.inject({ method: 'GET', url: '/v1/me/preferences', headers: auth })
    expect(initial.statusCode).to.equal(200)
    expect(initial.json()).to.deep.equal({ preferences: {} })

    const preferences = { theme: 'dark', notifications: { email: false, push: true }, pinned: ['a', 'b'] }
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/me/preferences',
      headers: auth,
      payload: { preferences },
    })
    expect(put.statusCode).to.equal(200)
    expect(put.json()).to.deep.equal({ preferences })
    const read = await app.inject({ method: 'GET', url: '/v1/me/preferences', headers: auth })
    expect(read.json()).to.deep.equal({ preferences })
  })

  it('preferences must be an object and stay under the size limit', async () => {
    for (const payload of [{ preferences: ['x'] }, { preferences: 'dark' }, { theme: 'dark' }]) {
      const res = await app.inject({ method: 'PUT', url: '/v1/me/preferences', headers: auth, payload })
      expect(res.statusCode, JSON.stringify(payload)).to.equal(400)
    }
    const big = await app.inject({
      method: 'PUT',
      url: '/v1/me/preferences',
      headers: auth,
      payload: { preferences: { note: 'x'.repeat(2000) } },
    })
    expect(big.statusCode).to.equal(400)
    expect(big.json().error.details).to.deep.equal([
      { field: 'preferences', message: 'must be at most 1024 bytes of JSON' },
    ])
  })

  it('every /v1/me route needs a session', async () => {
    for (const [method, url] of [
      ['GET', '/v1/me'],
      ['PATCH', '/v1/me'],
      ['GET', '/v1/me/preferences'],
      ['PUT', '/v1/me/preferences'],
      ['DELETE', '/v1/me/sessions'],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        payload: method === 'GET' || method === 'DELETE' ? undefined : {},
      })
      expect(res.statusCode, `${method} ${url}`).to.equal(401)
    }
  })
})
