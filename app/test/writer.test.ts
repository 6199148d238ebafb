/**
 * The writer moves at run time: the service reads `host:port` from its writer endpoint source,
 * and when it changes, new requests write to the new server while in-flight work on the old one
 * finishes. Two real PostgreSQL servers: the machine's, and a second cluster started here.
 */
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { mockClient } from 'aws-sdk-client-mock'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import {
  LocalCluster,
  removeDir,
  scratchDir,
  sleep,
  sql,
  TcpProxy,
  waitUntil,
} from '../../scripts/kit/index.js'
import { ConfigError, loadConfig } from '../src/config.js'
import { applyMigrations } from '../src/db/migrate.js'
import { endpointOf, parseEndpoint, withEndpoint, writerEndpointReader } from '../src/db/writer-endpoint.js'
import { buildTestApp, testEnv } from './helpers/app.js'
import { services } from './helpers/services.js'
import { register } from './helpers/users.js'

const migrationsDir = new URL('../../prisma/migrations', import.meta.url).pathname
const MAIN = '127.0.0.1:5432'
const query = sql
const waitFor = (condition: () => boolean | Promise<boolean>, timeoutMs = 5000) =>
  waitUntil('condition', timeoutMs, condition)

describe('switchable writer', function () {
  this.timeout(60_000)
  let dir: string
  let second: LocalCluster
  let secondUrl: string
  let endpointFile: string
  let app: FastifyInstance | undefined

  /** Which of the two servers holds a user with this email. */
  async function whereIs(email: string): Promise<string[]> {
    const found: string[] = []
    for (const [name, url] of [
      ['main', services.databaseUrl],
      ['second', secondUrl],
    ] as const) {
      const rows = await query(url, 'SELECT 1 FROM users WHERE email = $1', [email])
      if (rows.length > 0) found.push(name)
    }
    return found
  }

  before(async () => {
    dir = scratchDir('writer-test')
    second = await LocalCluster.create(dir, 'second', { fsync: 'off' })
    await second.start()
    // Same database name on both servers: the endpoint is the only thing that changes.
    await query(second.url(), `CREATE DATABASE "${services.databaseName}"`)
    secondUrl = withEndpoint(services.databaseUrl, second.endpoint)
    await applyMigrations({ databaseUrl: secondUrl, migrationsDir })
    endpointFile = join(dir, 'writer-endpoint')
  })

  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  after(async () => {
    await second?.stopQuietly()
    if (dir) removeDir(dir)
  })

  it('starts on the writer the source names rather than the host in DATABASE_URL', async () => {
    await writeFile(endpointFile, `${second.endpoint}\n`)
    app = await buildTestApp({ DATABASE_WRITER_ENDPOINT_SOURCE: `file:${endpointFile}` })
    const { email } = await register(app)
    expect(await whereIs(email)).to.deep.equal(['second'])
  })

  it('moves new writes to a new writer without a restart when the endpoint changes', async () => {
    await writeFile(endpointFile, MAIN)
    app = await buildTestApp({
      DATABASE_WRITER_ENDPOINT_SOURCE: `file:${endpointFile}`,
      DATABASE_WRITER_POLL_MS: '100',
    })
    const held = app.prisma
    const before = await register(app)
    expect(await whereIs(before.email)).to.deep.equal(['main'])

    await writeFile(endpointFile, second.endpoint)
    await waitFor(() => app?.db.status().writer === second.endpoint)

    const after = await register(app)
    expect(await whereIs(after.email)).to.deep.equal(['second'])
    expect(app.db.status().writerSwitches).to.equal(1)
    // A component that stored the client at boot (an outbox relay, say) follows the switch too.
    await held.user.create({ data: { email: `held-${before.email}`, name: 'Held', passwordHash: 'x' } })
    expect(await whereIs(`held-${before.email}`)).to.deep.equal(['second'])
    const ready = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).to.equal(200)
  })

  it('lets a transaction running on the old writer commit there, then closes the old pool', async () => {
    await writeFile(endpointFile, MAIN)
    // Sessions of other specs' apps on this database are not this pool's: only those opened from here count.
    const writerPids = () =>
      query<{ pid: number }>(
        services.adminUrl,
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'blueprint-writer'`,
        [services.databaseName],
      ).then((rows) => rows.map((r) => r.pid))
    const before = new Set(await writerPids())
    app = await buildTestApp({
      DATABASE_WRITER_ENDPOINT_SOURCE: `file:${endpointFile}`,
      DATABASE_WRITER_POLL_MS: '100',
      DATABASE_QUERY_TIMEOUT_MS: '1500',
    })
    const email = `inflight-${services.runId}@example.com`
    const inFlight = app.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_sleep(0.6)')
      return tx.user.create({ data: { email, name: 'In flight', passwordHash: 'x' } })
    })
    await sleep(100)
    await writeFile(endpointFile, second.endpoint)
    await waitFor(() => app?.db.status().writer === second.endpoint)

    const created = await inFlight
    expect(created.email).to.equal(email)
    expect(await whereIs(email)).to.deep.equal(['main'])

    // The retired pool closes once its grace period (the query timeout) is over.
    const writerSessions = async () => (await writerPids()).filter((pid) => !before.has(pid)).length
    await waitFor(async () => (await writerSessions()) === 0, 10_000)
  })

  it('re-checks the source at once when the writer drops connections, without waiting for the poll', async () => {
    const proxy = new TcpProxy('127.0.0.1', 5432)
    await proxy.up()
    try {
      const viaProxy = `127.0.0.1:${proxy.port}`
      await writeFile(endpointFile, viaProxy)
      app = await buildTestApp({
        DATABASE_URL: withEndpoint(services.databaseUrl, viaProxy),
        DATABASE_WRITER_ENDPOINT_SOURCE: `file:${endpointFile}`,
        // Far longer than this test: only the error path can make it switch in time.
        DATABASE_WRITER_POLL_MS: '600000',
        DATABASE_CONNECT_TIMEOUT_MS: '300',
      })
      const first = await register(app)
      expect(await whereIs(first.email)).to.deep.equal(['main'])

      await writeFile(endpointFile, second.endpoint)
      await proxy.down()
      const started = Date.now()
      await waitFor(() => app?.db.status().writer === second.endpoint, 3000)
      expect(Date.now() - started).to.be.below(3000)

      const next = await register(app)
      expect(await whereIs(next.email)).to.deep.equal(['second'])
    } finally {
      await proxy.down()
    }
  })

  it('keeps the current writer when the source is unreadable or malformed', async () => {
    await writeFile(endpointFile, MAIN)
    app = await buildTestApp({
      DATABASE_WRITER_ENDPOINT_SOURCE: `file:${endpointFile}`,
      DATABASE_WRITER_POLL_MS: '100',
    })
    await writeFile(endpointFile, 'postgresql://not-an-endpoint')
    await sleep(300)
    await rm(endpointFile)
    await sleep(300)
    expect(app.db.status()).to.include({ writer: MAIN, writerSwitches: 0 })
    const user = await register(app)
    expect(await whereIs(user.email)).to.deep.equal(['main'])
  })

  it('reads the endpoint from an SSM parameter (the value `npm run dr -- promote` writes)', async () => {
    const ssm = mockClient(SSMClient)
    ssm.on(GetParameterCommand, { Name: '/blueprint/eu-west/db/writer-endpoint' }).resolves({
      Parameter: { Name: '/blueprint/eu-west/db/writer-endpoint', Value: 'db.example.internal:5432' },
    })
    try {
      const read = writerEndpointReader('ssm:/blueprint/eu-west/db/writer-endpoint', new SSMClient({}))
      expect(await read()).to.equal('db.example.internal:5432')
      ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'https://oops' } })
      await read().then(
        () => expect.fail('a malformed value must be refused'),
        (err: Error) => expect(err.message).to.match(/host:port/),
      )
    } finally {
      ssm.restore()
    }
  })

  it('accepts host:port endpoints only, and keeps credentials, database and options when moving', () => {
    expect(parseEndpoint(' db-eu.abc.eu-west-1.rds.amazonaws.com:5432\n')).to.equal(
      'db-eu.abc.eu-west-1.rds.amazonaws.com:5432',
    )
    expect(parseEndpoint('[::1]:5433')).to.equal('[::1]:5433')
    for (const bad of ['', 'db:0', 'db:70000', 'db', 'postgresql://db:5432', 'user@db:5432', 'db:5432/app']) {
      expect(() => parseEndpoint(bad), bad).to.throw(/host:port/)
    }
    const url = 'postgresql://app:s%40cret@old.example:5432/ledger?sslmode=require'
    const moved = withEndpoint(url, 'new.example:6432')
    expect(moved).to.equal('postgresql://app:s%40cret@new.example:6432/ledger?sslmode=require')
    expect(endpointOf(moved)).to.equal('new.example:6432')
    expect(endpointOf('postgresql://u@h/db')).to.equal('h:5432')
  })

  it('refuses bad replica URLs and writer sources at boot, naming each', () => {
    const attempt = () =>
      loadConfig(
        testEnv({
          DATABASE_REPLICA_URL: 'postgresql://ok@127.0.0.1/db,mysql://nope',
          DATABASE_WRITER_ENDPOINT_SOURCE: 'http://somewhere',
        }),
      )
    expect(attempt).to.throw(ConfigError, /DATABASE_REPLICA_URL[\s\S]*DATABASE_WRITER_ENDPOINT_SOURCE/)
  })
})
