import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { services, withDatabase } from '../helpers/services.js'

// Ports nothing listens on: the connection is refused at once.
const deadPg = withDatabase(services.databaseUrl.replace(':5432', ':1'), services.databaseName)
const deadRedis = 'redis://127.0.0.1:1'

describe('health checks', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app.close()
  })

  it('GET /health/live answers 200 while the process runs', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/live' })
    expect(res.statusCode).to.equal(200)
    expect(res.json()).to.deep.equal({ status: 'ok' })
  })

  it('GET /health/ready answers 200 when PostgreSQL and Redis answer', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).to.equal(200)
    expect(res.json()).to.deep.equal({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } })
  })

  for (const [name, env, expected] of [
    ['Redis', { REDIS_URL: deadRedis }, { postgres: 'ok', redis: 'fail' }],
    ['PostgreSQL', { DATABASE_URL: deadPg }, { postgres: 'fail', redis: 'ok' }],
  ] as const) {
    it(`GET /health/ready answers 503 naming ${name} when it is unreachable, within about a second`, async () => {
      const broken = await buildTestApp(env)
      try {
        const started = Date.now()
        const res = await broken.inject({ method: 'GET', url: '/health/ready' })
        expect(Date.now() - started).to.be.below(1500)
        expect(res.statusCode).to.equal(503)
        expect(res.json()).to.deep.equal({ status: 'unavailable', checks: expected })
        // Liveness does not depend on them: the orchestrator must not kill a healthy process.
        const live = await broken.inject({ method: 'GET', url: '/health/live' })
        expect(live.statusCode).to.equal(200)
      } finally {
        await broken.close()
      }
    })
  }
})
