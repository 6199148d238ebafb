/**
 * Mocha root hooks (loaded with `require` in app/.mocharc.cjs): before any spec, check that
 * PostgreSQL and Redis answer, create this run's database and apply the committed migrations;
 * after all specs, drop the database and delete this run's Redis keys.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { deleteKeys, redact, sweepStaleDatabases } from '../../../scripts/kit/index.js'
import { applyMigrations } from '../../src/db/migrate.js'
import { DATABASE_PREFIX, services } from './services.js'

export { deleteKeys }

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../prisma/migrations')

async function checkPostgres(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: services.adminUrl, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return client
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${redact(services.adminUrl)} (${(err as Error).message}). ` +
        'Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start) or set TEST_POSTGRES_URL.',
    )
  }
}

async function checkRedis(): Promise<Redis> {
  const client = new Redis(services.redisUrl, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  try {
    await client.connect()
    await client.ping()
    return client
  } catch (err) {
    client.disconnect()
    throw new Error(
      `Redis is not reachable at ${services.redisUrl} (${(err as Error).message}). ` +
        'Start it (redis-server --daemonize yes --port 6379) or set TEST_REDIS_URL.',
    )
  }
}

// A run killed before its teardown leaves its database and keys behind; later runs remove those
// older than this (run ids start with their start time, so a live concurrent run is never touched).
const STALE_AFTER_MS = 60 * 60 * 1000

async function sweepStaleRuns(redis: Redis): Promise<void> {
  for (const runId of await sweepStaleDatabases(services.adminUrl, DATABASE_PREFIX, STALE_AFTER_MS))
    await deleteKeys(redis, `test:${runId}:`)
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000)
    const [pgCheck, redisCheck] = await Promise.allSettled([checkPostgres(), checkRedis()])
    if (pgCheck.status === 'rejected' || redisCheck.status === 'rejected') {
      // Close whichever did connect, or the run would hang instead of failing.
      if (pgCheck.status === 'fulfilled') await pgCheck.value.end()
      if (redisCheck.status === 'fulfilled') redisCheck.value.disconnect()
      const reasons = [pgCheck, redisCheck].flatMap((c) =>
        c.status === 'rejected' ? [(c.reason as Error).message] : [],
      )
      throw new Error(reasons.join('\n'))
    }
    const admin = pgCheck.value
    const redis = redisCheck.value
    try {
      await sweepStaleRuns(redis)
      await admin.query(`CREATE DATABASE "${services.databaseName}"`)
    } finally {
      await admin.end()
      redis.disconnect()
    }
    await applyMigrations({ databaseUrl: services.databaseUrl, migrationsDir })
  },

  async afterAll(this: Mocha.Context) {
    this.timeout(30_000)
    const admin = new pg.Client({ connectionString: services.adminUrl, connectionTimeoutMillis: 3000 })
    const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 })
    try {
      await admin.connect()
      await admin.query(`DROP DATABASE IF EXISTS "${services.databaseName}" WITH (FORCE)`)
      await deleteKeys(redis, services.redisPrefix)
    } finally {
      await admin.end().catch(() => {})
      redis.disconnect()
    }
  },
}
