import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { waitUntil } from '../../../scripts/kit/net.js'
import { buildServer } from '../../src/build.js'
import { buildTestApp, LogCapture, testConfig } from '../helpers/app.js'
import { bearer, GOOD_PASSWORD, login, uniqueEmail } from '../helpers/users.js'

describe('HTTP core', () => {
  let app: FastifyInstance
  const logs = new LogCapture()
  before(async () => {
    app = await buildServer(testConfig({ LOG_LEVEL: 'info', BODY_LIMIT_BYTES: '2048' }), { logStream: logs })
    // A route that fails the way a bug would, to see what the client gets.
    app.get('/test/boom', async () => {
      throw new Error('connection string postgresql://admin:hunter2@10.0.0.5/db exploded')
    })
    await app.ready()
  })
  after(async () => {
    await app.close()
  })

  describe('request ids', () => {
    it('honours an incoming x-request-id and echoes it', async () => {
      const res = await app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'abc-123' } })
      expect(res.headers['x-request-id']).to.equal('abc-123')
      expect(res.json().error.requestId).to.equal('abc-123')
      expect(logs.lines.some((l) => l.reqId === 'abc-123')).to.equal(true)
    })

    it('generates one when absent or unsafe', async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/nowhere',
        headers: { 'x-request-id': 'bad id\nX: y' },
      })
      expect(res.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/)
      const plain = await app.inject({ method: 'GET', url: '/nowhere' })
      expect(plain.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/)
      expect(plain.headers['x-request-id']).not.to.equal(res.headers['x-request-id'])
    })
  })

  describe('errors', () => {
    it('share one shape, 404 included', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/nope' })
      expect(res.statusCode).to.equal(404)
      expect(res.json()).to.have.all.keys('error')
      expect(res.json().error).to.have.all.keys('code', 'message', 'requestId')
      expect(res.json().error.code).to.equal('NOT_FOUND')
    })

    it('never leak internals on 5xx, and log them with the request id', async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/test/boom',
        headers: { 'x-request-id': 'boom-1' },
      })
      expect(res.statusCode).to.equal(500)
      expect(res.json()).to.deep.equal({
        error: { code: 'INTERNAL_ERROR', message: 'Internal server error', requestId: 'boom-1' },
      })
      expect(res.body).not.to.include('hunter2')
      const logged = logs.lines.find((l) => l.reqId === 'boom-1' && l.level === 50)
      expect(JSON.stringify(logged)).to.include('exploded')
    })

    // Bodies stop at their first problem (platform/validation.ts: collecting every error of a hostile
    // body is work an attacker orders); query strings list every problem, up to 20.
    it('answer 400 naming the invalid field of a body, and every invalid query parameter', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email: 'not-an-email', password: GOOD_PASSWORD },
      })
      expect(res.statusCode).to.equal(400)
      const { error } = res.json()
      expect(error.code).to.equal('VALIDATION_FAILED')
      const fields = error.details.map((d: { field: string }) => d.field)
      expect(fields).to.have.length(1)
      expect(['email', 'name']).to.include(fields[0])

      const session = await login(app)
      const query = await app.inject({
        method: 'GET',
        url: '/v1/notifications?limit=0&unread=maybe',
        headers: bearer(session.token),
      })
      expect(query.statusCode).to.equal(400)
      expect(query.json().error.details.map((d: { field: string }) => d.field)).to.have.members([
        'limit',
        'unread',
      ])
    })

    it('reject unknown JSON fields, naming them', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email: uniqueEmail(), password: GOOD_PASSWORD, name: 'X', role: 'admin' },
      })
      expect(res.statusCode).to.equal(400)
      expect(res.json().error.details).to.deep.include({ field: 'role', message: 'is not an allowed field' })
    })

    it('answer 400 INVALID_BODY for malformed JSON', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: '{"email":',
      })
      expect(res.statusCode).to.equal(400)
      expect(res.json().error.code).to.equal('INVALID_BODY')
    })

    it('answer 413 for a body over the limit', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: uniqueEmail(), password: 'x'.repeat(4096) },
      })
      expect(res.statusCode).to.equal(413)
      expect(res.json().error.code).to.equal('PAYLOAD_TOO_LARGE')
    })
  })

  it('sends the security headers of a JSON API, and none of those made for HTML pages', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/live' })
    expect(res.headers['strict-transport-security']).to.match(/max-age=\d+/)
    expect(res.headers['x-content-type-options']).to.equal('nosniff')
    expect(res.headers['x-frame-options']).to.equal('DENY')
    expect(res.headers['content-security-policy']).to.equal("default-src 'none';frame-ancestors 'none'")
    expect(res.headers['referrer-policy']).to.equal('no-referrer')
    expect(res.headers['x-powered-by']).to.equal(undefined)
    for (const html of [
      'cross-origin-opener-policy',
      'cross-origin-embedder-policy',
      'origin-agent-cluster',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ]) {
      expect(res.headers, html).not.to.have.property(html)
    }
  })

  it('takes the client address from X-Forwarded-For only from a trusted proxy', async () => {
    await app.inject({
      method: 'GET',
      url: '/nowhere',
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'xff-1' },
    })
    const line = logs.lines.find((l) => l.reqId === 'xff-1' && l.req) as { req: { remoteAddress: string } }
    expect(line.req.remoteAddress).to.equal('203.0.113.7')

    const strictLogs = new LogCapture()
    const strict = await buildTestApp({ TRUST_PROXY: 'false', LOG_LEVEL: 'info' }, strictLogs)
    try {
      await strict.inject({
        method: 'GET',
        url: '/nowhere',
        headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'xff-2' },
      })
      const seen = strictLogs.lines.find((l) => l.reqId === 'xff-2' && l.req) as {
        req: { remoteAddress: string }
      }
      // With no trusted proxy the socket address wins.
      expect(seen.req.remoteAddress).to.equal('127.0.0.1')
    } finally {
      await strict.close()
    }
  })

  it('redacts cookies, authorization headers, passwords and tokens from logs', async () => {
    const session = await login(app)
    await app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { ...bearer(session.token), 'x-request-id': 'redact-1' },
    })
    await app.inject({
      method: 'GET',
      url: '/v1/me',
      cookies: { sid: session.cookie },
      headers: { 'x-request-id': 'redact-2' },
    })
    app.log.info(
      { password: GOOD_PASSWORD, user: { password: GOOD_PASSWORD, token: session.token } },
      'careless line',
    )

    const all = logs.raw.join('\n')
    expect(all).not.to.include(session.token)
    expect(all).not.to.include(GOOD_PASSWORD)
    const first = logs.lines.find((l) => l.reqId === 'redact-1' && l.req) as {
      req: { headers: Record<string, string> }
    }
    const second = logs.lines.find((l) => l.reqId === 'redact-2' && l.req) as {
      req: { headers: Record<string, string> }
    }
    expect(first.req.headers.authorization).to.equal('[redacted]')
    expect(second.req.headers.cookie).to.equal('[redacted]')
  })

  it('writes one access-log line per request, with the request, the status and the time taken', async () => {
    // (Health checks log at warn only: probes every few seconds are not worth a line.)
    await app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-request-id': 'access-1' } })
    // Written when the response has finished, which can be a turn after inject resolves.
    await waitUntil('the access-log line', 2000, () => logs.lines.some((l) => l.reqId === 'access-1'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const lines = logs.lines.filter((l) => l.reqId === 'access-1')
    expect(lines).to.have.length(1)
    const [line] = lines as {
      msg: string
      req: { method: string; url: string }
      res: { statusCode: number }
      responseTime: number
    }[]
    expect(line?.msg).to.equal('request completed')
    expect(line?.req).to.include({ method: 'GET', url: '/v1/me' })
    expect(line?.res.statusCode).to.equal(401)
    expect(line?.responseTime).to.be.a('number')
  })

  it('serves the OpenAPI document generated from the route schemas', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' })
    expect(res.statusCode).to.equal(200)
    const doc = res.json()
    expect(doc.openapi).to.match(/^3\./)
    for (const path of [
      '/v1/auth/register',
      '/v1/auth/login',
      '/v1/auth/logout',
      '/v1/me',
      '/v1/me/preferences',
      '/v1/me/sessions',
      '/health/ready',
    ]) {
      expect(doc.paths, path).to.have.property(path)
    }
    // Every operation documents its responses; the ones taking a body document it too.
    for (const [path, item] of Object.entries<Record<string, { responses?: object }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.responses, `${method} ${path}`).to.be.an('object').that.is.not.empty
      }
    }
    for (const [method, path] of [
      ['post', '/v1/auth/register'],
      ['post', '/v1/auth/login'],
      ['patch', '/v1/me'],
      ['put', '/v1/me/preferences'],
    ] as const) {
      expect(doc.paths[path][method].requestBody, `${method} ${path}`).to.be.an('object')
    }
    expect(doc.components.schemas).to.have.property('ErrorResponse')
    // Every endpoint of the service, with a documented success answer (and a body schema for writes).
    const endpoints: [string, string, number][] = [
      ['get', '/v1/accounts', 200],
      ['post', '/v1/accounts', 201],
      ['post', '/v1/transactions', 201],
      ['get', '/v1/transactions', 200],
      ['get', '/v1/transactions/{id}', 200],
      ['get', '/v1/notifications', 200],
      ['get', '/v1/notifications/stream', 200],
      ['post', '/v1/notifications/{id}/read', 200],
      ['post', '/v1/uploads', 201],
      ['get', '/v1/uploads', 200],
      ['get', '/v1/uploads/{id}', 200],
      ['post', '/v1/uploads/{id}/complete', 200],
      ['delete', '/v1/uploads/{id}', 204],
      ['get', '/v1/search', 200],
      ['get', '/v1/reports/summary', 200],
      ['get', '/v1/admin/reports/daily', 200],
      ['get', '/v1/me/export', 200],
      ['delete', '/v1/me', 200],
    ]
    for (const [method, path, status] of endpoints) {
      const op = doc.paths[path]?.[method]
      expect(op, `${method} ${path} is documented`).to.be.an('object')
      expect(op.responses, `${method} ${path}`).to.have.property(String(status))
      if (['post', 'put', 'patch'].includes(method) && !path.endsWith('/read') && !path.endsWith('/complete'))
        expect(op.requestBody, `${method} ${path} body schema`).to.be.an('object')
    }
    expect(JSON.stringify(doc.paths['/v1/auth/register'].post.requestBody)).to.include(
      '"additionalProperties":false',
    )
  })
})
