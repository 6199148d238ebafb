import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { isStrictDate, isStrictDateTime } from '../src/platform/schemas.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { bearer, login } from './helpers/users.js'
import { openAccount, post } from './transactions.support.js'

// Regression tests of issue 10, finding 3: each input here once answered 500.
describe('hostile input answers 4xx in the error shape (issue 10, finding 3)', () => {
  let app: FastifyInstance
  let token: string
  let account: string
  before(async () => {
    app = await buildTestApp({ OUTBOX_RELAY_ENABLED: 'false' })
    ;({ token } = await login(app))
    account = await openAccount(app, token)
    await fundAccount(app, account, 1000)
  })
  after(async () => {
    await app.close()
  })

  function expectRefused(res: Awaited<ReturnType<FastifyInstance['inject']>>, what: string) {
    expect(res.statusCode, `${what}: ${res.body}`).to.be.within(400, 499)
    const { error } = res.json()
    expect(error, what).to.include.keys('code', 'message', 'requestId')
  }

  const get = (url: string) => app.inject({ method: 'GET', url, headers: bearer(token) })
  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

  it('refuses NUL bytes and lone surrogates in JSON strings and field names headed for PostgreSQL', async () => {
    for (const description of ['a\u0000b', '\ud800', 'x\udfff']) {
      const res = await post(app, token, {
        type: 'withdrawal',
        amount: '1',
        currency: 'EUR',
        fromAccountId: account,
        description,
      })
      expectRefused(res, JSON.stringify(description))
    }
    const prefs = await app.inject({
      method: 'PUT',
      url: '/v1/me/preferences',
      headers: bearer(token),
      payload: '{"preferences":{"\\ud800":1,"b":"\\u0000"}}',
    })
    expectRefused(prefs, 'preferences')
  })

  it('refuses NUL and lone surrogates in query strings and path parameters', async () => {
    expectRefused(await get('/v1/search?q=ab%00cd'), 'search NUL')
    expectRefused(await get('/v1/transactions/%ED%A0%80'), 'path surrogate bytes')
  })

  it('answers 400 to operator-only search queries PostgreSQL cannot parse (found by the fuzzer)', async () => {
    for (const q of ['-'.repeat(36), '- '.repeat(36), '-!'.repeat(36)])
      expectRefused(await get(`/v1/search?q=${encodeURIComponent(q)}`), q)
  })

  it('refuses non-finite numbers past coercion', async () => {
    for (const limit of ['Infinity', '-Infinity', 'NaN', '1e309', '1.5'])
      expectRefused(await get(`/v1/transactions?limit=${limit}`), limit)
  })

  it('refuses dates out of range: year 0, leap seconds, impossible days, six-digit years', async () => {
    for (const from of [
      '0000-01-01T00:00:00Z',
      '2016-12-31T23:59:60Z',
      '2024-02-30T00:00:00Z',
      '+275760-09-13T00:00:00Z',
    ])
      expectRefused(await get(`/v1/transactions?from=${encodeURIComponent(from)}`), from)
    expectRefused(await get('/v1/reports/summary?from=0000-01-01&to=0000-01-31'), 'report year 0')
    expect(isStrictDateTime('2024-02-29T23:59:59.999+01:00')).to.equal(true)
    expect(isStrictDate('0001-01-01')).to.equal(true)
    expect(isStrictDate('2023-02-29')).to.equal(false)
  })

  it('refuses forged cursors whose instant or id would fail in the query', async () => {
    const bad = [
      cursor(['0000-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000']),
      cursor(['2024-01-01T00:00:00Z', '------------------------------------']),
      cursor([1, 2]),
    ]
    for (const c of bad) expectRefused(await get(`/v1/transactions?cursor=${c}`), c)
    for (const c of [
      cursor([1e308, '2024-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000']),
      cursor([0.5, '2024-01-01T00:00:00Z', '------------------------------------']),
    ])
      expectRefused(await get(`/v1/search?q=coffee&cursor=${c}`), c)
  })

  it('refuses ids beyond bigint', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notifications/9223372036854775808/read',
      headers: bearer(token),
    })
    expectRefused(res, 'notification id 2^63')
    expectRefused(await get('/v1/notifications?cursor=99999999999999999999'), 'notification cursor')
  })

  it('refuses deep nesting before validation and router errors in the error shape', async () => {
    const deep = `{"preferences":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`
    expectRefused(
      await app.inject({
        method: 'PUT',
        url: '/v1/me/preferences',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        payload: deep,
      }),
      'deep nesting',
    )
    expectRefused(await get(`/v1/transactions/${'x'.repeat(1000)}`), 'overlong param')
    expectRefused(await get('/v1/uploads/%E0%A4%A'), 'broken percent-encoding')
  })
})
