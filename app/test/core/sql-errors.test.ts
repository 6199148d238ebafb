/**
 * The hot paths send plain SQL through pg (db/sql.ts), the rest goes through Prisma: a database
 * that is down, full or restarting, and a write conflict that outlived its retries, must answer the
 * same on both. Every error here is a real one from PostgreSQL or the network.
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'
import { freePort, sleep } from '../../../scripts/kit/net.js'
import { closeClient, createPrismaClient } from '../../src/db/client.js'
import { sqlOn } from '../../src/db/sql.js'
import type { PrismaClient } from '../../src/generated/prisma/client.js'
import errors from '../../src/platform/errors-plugin.js'
import { services } from '../helpers/services.js'

type Path = 'plain pg' | 'prisma'
const PATHS: Path[] = ['plain pg', 'prisma']

/** Runs `statement` on `client` the way each path does. */
function run(path: Path, client: PrismaClient, statement: string): Promise<unknown> {
  return path === 'plain pg' ? sqlOn(client)(statement, []) : client.$queryRawUnsafe(statement)
}

const clientFor = (url: string, overrides: { poolMax?: number; connectTimeoutMs?: number } = {}) =>
  createPrismaClient({ url, poolMax: 2, connectTimeoutMs: 1000, queryTimeoutMs: 10_000, ...overrides })

describe('database errors answer the same through plain pg and Prisma', () => {
  let app: FastifyInstance
  let work: () => Promise<unknown>
  const admin = new pg.Client({ connectionString: services.adminUrl })

  /** The service's error handler in front of one route that runs `work`. */
  const answer = async (next: () => Promise<unknown>) => {
    work = next
    const res = await app.inject({ method: 'GET', url: '/work' })
    return { status: res.statusCode, code: res.json().error?.code, retryAfter: res.headers['retry-after'] }
  }

  before(async () => {
    await admin.connect()
    app = Fastify({ logger: false })
    await app.register(errors)
    app.get('/work', async () => {
      await work()
      return { ok: true }
    })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await admin.end()
  })

  /** Waits until a statement containing `marker` runs on the server; returns its backend pid. */
  const runningOnServer = async (marker: string): Promise<number> => {
    // A fresh Prisma client compiles its query engine first: seconds on a busy machine.
    for (let i = 0; i < 300; i++) {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%AS ${marker}%`],
      )
      if (rows[0]) return rows[0].pid
      await sleep(50)
    }
    throw new Error(`no statement with ${marker} started on the server`)
  }

  const unavailable = { status: 503, code: 'SERVICE_UNAVAILABLE', retryAfter: '1' }

  for (const path of PATHS) {
    describe(path, () => {
      it('503 when nothing listens at the database address (connection refused)', async () => {
        const url = new URL(services.databaseUrl)
        url.port = String(await freePort())
        const client = clientFor(url.toString())
        try {
          expect(await answer(() => run(path, client, 'SELECT 1'))).to.deep.equal(unavailable)
        } finally {
          await closeClient(client)
        }
      })

      it('503 when no pooled connection frees up in time (pool wait timeout)', async () => {
        const client = clientFor(services.databaseUrl, { poolMax: 1 })
        const marker = `hot_paths_${randomBytes(4).toString('hex')}`
        let outcome = 'running'
        const busy = run(path, client, `SELECT pg_sleep(4)::text AS ${marker}`).then(
          () => {
            outcome = 'done'
          },
          (err: Error) => {
            outcome = `failed: ${err.message}`
          },
        )
        try {
          await runningOnServer(marker).catch((err: Error) => {
            throw new Error(`${err.message} (the statement: ${outcome})`)
          })
          expect(await answer(() => run(path, client, 'SELECT 1'))).to.deep.equal(unavailable)
        } finally {
          await busy
          await closeClient(client)
        }
      })

      it('503 when the server ends the connection mid-query (57P01, a restart or failover)', async () => {
        const client = clientFor(services.databaseUrl)
        const marker = `hot_paths_${randomBytes(4).toString('hex')}`
        try {
          const result = answer(() => run(path, client, `SELECT pg_sleep(5)::text AS ${marker}`))
          const pid = await runningOnServer(marker)
          await admin.query('SELECT pg_terminate_backend($1)', [pid])
          expect(await result).to.deep.equal(unavailable)
        } finally {
          await closeClient(client)
        }
      })

      it('503 when the server refuses more connections (53300)', async () => {
        const role = `hot_paths_${randomBytes(4).toString('hex')}`
        await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`)
        const url = new URL(services.databaseUrl)
        url.username = role
        const client = clientFor(url.toString())
        try {
          expect(await answer(() => run(path, client, 'SELECT 1'))).to.deep.equal(unavailable)
        } finally {
          await closeClient(client)
          await admin.query(`DROP ROLE ${role}`)
        }
      })

      for (const state of ['40001', '40P01']) {
        it(`409 for a write conflict (${state}) the retries did not resolve`, async () => {
          const client = clientFor(services.databaseUrl)
          try {
            const conflict = `DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '${state}'; END $$`
            expect(await answer(() => run(path, client, conflict))).to.deep.equal({
              status: 409,
              code: 'TRANSACTION_CONFLICT',
              retryAfter: undefined,
            })
          } finally {
            await closeClient(client)
          }
        })
      }

      it('500 for a statement that is simply wrong (not an outage, not a conflict)', async () => {
        const client = clientFor(services.databaseUrl)
        try {
          const res = await answer(() => run(path, client, 'SELECT * FROM no_such_table'))
          expect(res).to.include({ status: 500, code: 'INTERNAL_ERROR' })
        } finally {
          await closeClient(client)
        }
      })
    })
  }
})
