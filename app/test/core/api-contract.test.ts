import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { operationIdOf } from '../../src/platform/swagger.js'
import { buildTestApp } from '../helpers/app.js'

type Operation = { operationId?: string; security?: Record<string, string[]>[] }
type Document = { servers?: { url: string }[]; paths: Record<string, Record<string, Operation>> }

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  )

describe('API contract (OpenAPI document)', () => {
  let app: FastifyInstance
  let doc: Document
  before(async () => {
    app = await buildTestApp({ PUBLIC_API_URL: 'https://api.example.com' })
    doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  })
  after(async () => {
    await app.close()
  })

  it('gives every operation a unique camelCase operationId', () => {
    const ids = operations(doc).map(({ key, op }) => {
      expect(op.operationId, key).to.match(/^[a-z][A-Za-z0-9]*$/)
      return op.operationId
    })
    expect(ids.length).to.be.greaterThan(20)
    expect(new Set(ids).size, 'duplicate operationIds').to.equal(ids.length)
  })

  it('names the routes clients call most by hand-picked names', () => {
    const byKey = Object.fromEntries(operations(doc).map(({ key, op }) => [key, op.operationId]))
    expect(byKey['POST /v1/auth/login']).to.equal('login')
    expect(byKey['GET /v1/accounts']).to.equal('listAccounts')
    expect(byKey['POST /v1/transactions']).to.equal('createTransaction')
  })

  it('derives a name for a route the map does not know', () => {
    expect(operationIdOf('POST', '/v1/auth/password/reset')).to.equal('createAuthPasswordReset')
    expect(operationIdOf('GET', '/v1/things/:thingId/parts')).to.equal('getThingsByThingIdParts')
  })

  it('marks public routes security: [] and keeps the session on protected ones', () => {
    const byKey = Object.fromEntries(operations(doc).map(({ key, op }) => [key, op.security]))
    expect(byKey['POST /v1/auth/register']).to.deep.equal([])
    expect(byKey['GET /health/ready']).to.deep.equal([])
    expect(byKey['GET /v1/accounts']).to.deep.equal([{ bearer: [] }, { cookie: [] }])
    // The lifecycle links work without a session: the mailed token is the credential.
    for (const key of [
      'POST /v1/auth/password-reset',
      'POST /v1/auth/password-reset/confirm',
      'POST /v1/auth/verify-email',
    ]) {
      expect(byKey[key], key).to.deep.equal([])
    }
    for (const { key, op } of operations(doc)) expect(op.security, key).to.be.an('array')
  })

  it('documents security as the routes behave for an anonymous caller', async () => {
    const disagreements: string[] = []
    for (const { key, op } of operations(doc)) {
      const [method, path] = key.split(' ') as [string, string]
      const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000')
      const res = await app.inject({
        method: method as 'GET',
        url,
        payload: method === 'GET' ? undefined : {},
      })
      const documentedPublic = (op.security ?? []).length === 0
      // Public: never 401. Protected: 401, since every protected route authenticates before it
      // parses (a 400 here would mean the document claims a session the route never asks for).
      const wrong = documentedPublic ? res.statusCode === 401 : res.statusCode !== 401
      if (wrong) {
        disagreements.push(
          `${key}: documented ${documentedPublic ? 'public' : 'protected'}, answered ${res.statusCode}`,
        )
      }
    }
    expect(disagreements).to.deep.equal([])
  })

  it('lists the configured public URL as its server', () => {
    expect(doc.servers).to.deep.equal([{ url: 'https://api.example.com', description: 'This deployment' }])
  })

  it('serves the API reference UI at /docs by default', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/' })
    expect(res.statusCode).to.equal(200)
    expect(res.headers['content-type']).to.match(/text\/html/)
    expect(res.body).to.match(/swagger/i)
  })

  it('turns the UI off with API_DOCS_UI=false but keeps the document', async () => {
    const off = await buildTestApp({ API_DOCS_UI: 'false' })
    try {
      expect((await off.inject({ method: 'GET', url: '/docs/' })).statusCode).to.equal(404)
      expect((await off.inject({ method: 'GET', url: '/docs' })).statusCode).to.equal(404)
      const json = await off.inject({ method: 'GET', url: '/docs/json' })
      expect(json.statusCode).to.equal(200)
      expect(json.json().servers).to.deep.equal([{ url: '/', description: 'This deployment' }])
    } finally {
      await off.close()
    }
  })
})
