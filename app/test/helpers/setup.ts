/**
 * Mocha root hooks (loaded with `require` in app/.mocharc.cjs): before any spec, check that
 * PostgreSQL and Redis answer, create this run's database and apply the committed migrations;
 * after all specs, drop the database and delete this run's Redis keys.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deleteKeys, sql, sweepStaleDatabases } from '../../../scripts/kit/index.js'
import { applyMigrations } from '../../src/db/migrate.js'
import { DATABASE_PREFIX, services } from './services.js'

export { deleteKeys }

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../prisma/migrations')

// A run killed before its teardown leaves its database and keys behind; later runs remove those
// older than this (run ids start with their start time, so a live concurrent run is never touched).
const STALE_AFTER_MS = 60 * 60 * 1000

/** Fails fast, naming every server that does not answer and how to start it. */
async function checkServices(): Promise<void> {
  const hint = (text: string) => (err: Error) => {
    throw new Error(`${err.message}. ${text}`)
  }
  const checks = await Promise.allSettled([
    sql(services.adminUrl, 'SELECT 1').catch(
      hint('Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start) or set TEST_POSTGRES_URL.'),
    ),
    deleteKeys(services.redisUrl, services.redisPrefix).catch(
      hint('Start it (redis-server --daemonize yes --port 6379) or set TEST_REDIS_URL.'),
    ),
  ])
  const reasons = checks.flatMap((c) => (c.status === 'rejected' ? [(c.reason as Error).message] : []))
  if (reasons.length) throw new Error(reasons.join('\n'))
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000)
    await checkServices()
    for (const runId of await sweepStaleDatabases(services.adminUrl, DATABASE_PREFIX, STALE_AFTER_MS))
      await deleteKeys(services.redisUrl, `test:${runId}:`)
    await sql(services.adminUrl, `CREATE DATABASE "${services.databaseName}"`)
    await applyMigrations({ databaseUrl: services.databaseUrl, migrationsDir })
  },

  async afterAll(this: Mocha.Context) {
    this.timeout(30_000)
    await sql(services.adminUrl, `DROP DATABASE IF EXISTS "${services.databaseName}" WITH (FORCE)`)
    await deleteKeys(services.redisUrl, services.redisPrefix)
  },
}
