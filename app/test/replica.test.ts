/**
 * Read replicas: reads go to a replica (round robin), a user who just wrote reads from the writer
 * for the read-your-writes window, and a replica that stops answering drops out of the read pool.
 * The "replicas" are real, separate databases, so where a read went is visible in its answer.
 */
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import pg from 'pg'
import { freePort, LocalCluster, removeDir, scratchDir } from '../../scripts/kit/index.js'
import { TcpProxy } from '../../scripts/kit/tcp-proxy.js'
import { buildServer } from '../src/build.js'
import { DatabaseTopology } from '../src/db/topology.js'
import { testConfig } from './helpers/app.js'
import { services, withDatabase } from './helpers/services.js'
import { bearer, login } from './helpers/users.js'

const replicaA = `${services.databaseName}_ra`
const replicaB = `${services.databaseName}_rb`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: services.adminUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** The app plus two probe routes that report which database served them. */
async function probeApp(overrides: Record<string, string | undefined>): Promise<FastifyInstance> {
  const app = await buildServer(testConfig(overrides))
  const whereAmI = async (db: { $queryRawUnsafe: FastifyInstance['prisma']['$queryRawUnsafe'] }) => {
    const rows = await db.$queryRawUnsafe<{ db: string }[]>('SELECT current_database() AS db')
    return { database: rows[0]?.db }
  }
  app.get('/probe/read', { preHandler: app.authenticate }, async (request) =>
    whereAmI(await request.reader()),
  )
  app.get('/probe/anonymous-read', async (request) => whereAmI(await request.reader()))
  app.post('/probe/write', { preHandler: app.authenticate }, async (request) => {
    await app.prisma.$queryRawUnsafe('SELECT 1')
    return { readAfterWrite: (await whereAmI(await request.reader())).database }
  })
  await app.ready()
  return app
}

async function readFrom(app: FastifyInstance, token?: string): Promise<string> {
  const res = token
    ? await app.inject({ method: 'GET', url: '/probe/read', headers: bearer(token) })
    : await app.inject({ method: 'GET', url: '/probe/anonymous-read' })
  expect(res.statusCode, res.body).to.equal(200)
  return res.json().database
}

describe('read replicas', () => {
  let app: FastifyInstance | undefined

  before(async () => {
    await admin(async (c) => {
      await c.query(`CREATE DATABASE "${replicaA}"`)
      await c.query(`CREATE DATABASE "${replicaB}"`)
    })
  })

  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  after(async () => {
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS "${replicaA}" WITH (FORCE)`)
      await c.query(`DROP DATABASE IF EXISTS "${replicaB}" WITH (FORCE)`)
    })
  })

  it('sends every read to the writer when no replica is configured', async () => {
    app = await probeApp({})
    const { token } = await login(app)
    expect(await readFrom(app, token)).to.equal(services.databaseName)
    expect(await readFrom(app)).to.equal(services.databaseName)
  })

  it('sends reads of a user without recent writes to the replica', async () => {
    app = await probeApp({ DATABASE_REPLICA_URL: withDatabase(services.adminUrl, replicaA) })
    const { token } = await login(app)
    expect(await readFrom(app, token)).to.equal(replicaA)
    expect(app.db.status().replicas).to.deep.equal([{ endpoint: '127.0.0.1:5432', healthy: true, lagMs: 0 }])
  })

  it('spreads reads over several replicas in turn', async () => {
    app = await probeApp({
      DATABASE_REPLICA_URL: `${withDatabase(services.adminUrl, replicaA)},${withDatabase(services.adminUrl, replicaB)}`,
    })
    const seen = []
    for (let i = 0; i < 4; i++) seen.push(await readFrom(app))
    expect(seen).to.deep.equal([replicaA, replicaB, replicaA, replicaB])
  })

  it('routes a user who just wrote to the writer for the read-your-writes window, and only that user', async () => {
    app = await probeApp({
      DATABASE_REPLICA_URL: withDatabase(services.adminUrl, replicaA),
      DATABASE_READ_YOUR_WRITES_MS: '1500',
    })
    const writer = await login(app)
    const other = await login(app)

    const write = await app.inject({ method: 'POST', url: '/probe/write', headers: bearer(writer.token) })
    expect(write.statusCode, write.body).to.equal(200)
    // Within the writing request itself, reads see the write.
    expect(write.json().readAfterWrite).to.equal(services.databaseName)

    expect(await readFrom(app, writer.token)).to.equal(services.databaseName)
    expect(await readFrom(app, other.token)).to.equal(replicaA)

    await sleep(1700)
    expect(await readFrom(app, writer.token)).to.equal(replicaA)
  })

  it('does not mark a user whose write failed', async () => {
    app = await probeApp({ DATABASE_REPLICA_URL: withDatabase(services.adminUrl, replicaA) })
    const user = await login(app)
    const res = await app.inject({
      method: 'POST',
      url: '/probe/write',
      headers: { ...bearer(user.token), 'content-type': 'application/json' },
      payload: '{not json',
    })
    expect(res.statusCode).to.equal(400)
    expect(await readFrom(app, user.token)).to.equal(replicaA)
  })

  it('takes a replica that stops answering out of the read pool, then back once it answers', async () => {
    const proxy = new TcpProxy('127.0.0.1', 5432)
    await proxy.up()
    try {
      const viaProxy = new URL(withDatabase(services.adminUrl, replicaA))
      viaProxy.port = String(proxy.port)
      app = await probeApp({
        DATABASE_REPLICA_URL: viaProxy.toString(),
        DATABASE_REPLICA_CHECK_MS: '200',
        DATABASE_CONNECT_TIMEOUT_MS: '300',
      })
      expect(await readFrom(app)).to.equal(replicaA)

      await proxy.down()
      await waitFor(() => app?.db.status().replicas[0]?.healthy === false)
      expect(await readFrom(app)).to.equal(services.databaseName)

      await proxy.up()
      await waitFor(() => app?.db.status().replicas[0]?.healthy === true)
      expect(await readFrom(app)).to.equal(replicaA)
    } finally {
      await proxy.down()
    }
  })

  it('stays ready on its replica while the writer is unreachable, and is unavailable once neither answers', async () => {
    const writerProxy = new TcpProxy('127.0.0.1', 5432)
    const replicaProxy = new TcpProxy('127.0.0.1', 5432)
    await Promise.all([writerProxy.up(), replicaProxy.up()])
    try {
      const through = (url: string, proxy: TcpProxy) => {
        const u = new URL(url)
        u.port = String(proxy.port)
        return u.toString()
      }
      app = await probeApp({
        DATABASE_URL: through(services.databaseUrl, writerProxy),
        DATABASE_REPLICA_URL: through(withDatabase(services.adminUrl, replicaA), replicaProxy),
        DATABASE_CONNECT_TIMEOUT_MS: '300',
        HEALTH_TIMEOUT_MS: '500',
      })
      const ready = async () => {
        const res = await app?.inject({ method: 'GET', url: '/health/ready' })
        return { status: res?.statusCode, body: res?.json() }
      }
      expect(await ready()).to.deep.equal({
        status: 200,
        body: { status: 'ok', checks: { postgres: 'ok', redis: 'ok', replica: 'ok' } },
      })

      await writerProxy.down()
      expect(await ready()).to.deep.equal({
        status: 200,
        body: { status: 'ok', checks: { postgres: 'fail', redis: 'ok', replica: 'ok' } },
      })
      expect(await readFrom(app)).to.equal(replicaA)

      await replicaProxy.down()
      expect(await ready()).to.deep.equal({
        status: 503,
        body: { status: 'unavailable', checks: { postgres: 'fail', redis: 'ok', replica: 'fail' } },
      })
    } finally {
      await Promise.all([writerProxy.down(), replicaProxy.down()])
    }
  })

  it('keeps reads on a healthy replica when another is down', async () => {
    const deadPort = await freePort()
    app = await probeApp({
      DATABASE_REPLICA_URL: `postgresql://postgres@127.0.0.1:${deadPort}/nothing,${withDatabase(services.adminUrl, replicaB)}`,
      DATABASE_CONNECT_TIMEOUT_MS: '300',
    })
    const seen = new Set<string>()
    for (let i = 0; i < 4; i++) seen.add(await readFrom(app))
    expect([...seen]).to.deep.equal([replicaB])
  })

  it('treats a user as a recent writer when Redis cannot say (reads stay consistent)', async () => {
    const config = testConfig({ DATABASE_REPLICA_URL: withDatabase(services.adminUrl, replicaA) }).database
    const deadRedis = new Redis({
      port: await freePort(),
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    })
    deadRedis.on('error', () => {})
    const healthy = new Redis(services.redisUrl)
    const log = (await import('pino')).pino({ level: 'silent' })
    const down = new DatabaseTopology({ config, log, redis: () => deadRedis })
    const up = new DatabaseTopology({ config, log, redis: () => healthy })
    try {
      expect(await down.recentlyWrote('some-user')).to.equal(true)
      expect(down.reader()).to.not.equal(down.writer)
      expect(await down.readerFor('some-user')).to.equal(down.writer)
      expect(await up.recentlyWrote(`nobody-${services.runId}`)).to.equal(false)
    } finally {
      deadRedis.disconnect()
      healthy.disconnect()
      await Promise.all([down.close(), up.close()])
    }
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await sleep(50)
  }
}

describe('read replicas: a real streaming standby', function () {
  this.timeout(60_000)
  let dir: string
  let primary: LocalCluster
  let standby: LocalCluster

  before(async () => {
    dir = scratchDir('replica-test')
    primary = await LocalCluster.create(dir, 'primary', { fsync: 'off' })
    await primary.start()
    standby = await LocalCluster.standbyOf(primary, dir, 'standby')
    await standby.start()
  })

  after(async () => {
    await standby?.stopQuietly()
    await primary?.stopQuietly()
    if (dir) removeDir(dir)
  })

  it('takes a standby whose replay falls behind out of the read pool, and back once it catches up', async () => {
    const config = testConfig({
      DATABASE_URL: primary.url(),
      DATABASE_REPLICA_URL: standby.url(),
      DATABASE_REPLICA_MAX_LAG_MS: '500',
    }).database
    const log = (await import('pino')).pino({ level: 'silent' })
    const topology = new DatabaseTopology({ config, log, redis: () => undefined })
    const onPrimary = new pg.Client({ connectionString: primary.url() })
    const onStandby = new pg.Client({ connectionString: standby.url() })
    await Promise.all([onPrimary.connect(), onStandby.connect()])
    try {
      await topology.checkReplicas()
      expect(topology.status().replicas[0]).to.include({ healthy: true, lagMs: 0 })
      expect(topology.reader()).to.not.equal(topology.writer)

      await onPrimary.query('CREATE TABLE lag_probe (id int)')
      await onPrimary.query('INSERT INTO lag_probe VALUES (1)')
      const replayed = async () =>
        (await onStandby.query("SELECT to_regclass('lag_probe') IS NOT NULL AS ok")).rows[0].ok === true
      const until = Date.now() + 5000
      while (!(await replayed()) && Date.now() < until) await sleep(50)

      await onStandby.query('SELECT pg_wal_replay_pause()')
      await onPrimary.query('INSERT INTO lag_probe VALUES (2)')
      await sleep(700)
      await topology.checkReplicas()
      const lagging = topology.status().replicas[0]
      expect(lagging?.healthy).to.equal(false)
      expect(lagging?.lagMs).to.be.above(500)
      expect(topology.reader()).to.equal(topology.writer)

      await onStandby.query('SELECT pg_wal_replay_resume()')
      const deadline = Date.now() + 5000
      await topology.checkReplicas()
      while (!topology.status().replicas[0]?.healthy && Date.now() < deadline) {
        await sleep(100)
        await topology.checkReplicas()
      }
      expect(topology.status().replicas[0]).to.include({ healthy: true, lagMs: 0 })
      const rows = await onStandby.query('SELECT count(*)::int AS n FROM lag_probe')
      expect(rows.rows[0].n).to.equal(2)
    } finally {
      await Promise.all([onPrimary.end(), onStandby.end(), topology.close()])
    }
  })
})
