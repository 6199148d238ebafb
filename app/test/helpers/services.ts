/**
 * The PostgreSQL and Redis this test run uses: the machine's servers by default, overridable
 * with TEST_POSTGRES_URL / TEST_REDIS_URL. Each run gets its own database and Redis key prefix.
 */
import { randomBytes } from 'node:crypto'

const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const runId = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`

/** Connection details of this run; `databaseUrl` points at the run's own database. */
export const services = {
  runId,
  adminUrl,
  databaseName: `test_app_${runId}`,
  databaseUrl: withDatabase(adminUrl, `test_app_${runId}`),
  redisUrl,
  /** Every Redis key this run writes starts with it; teardown deletes them all. */
  redisPrefix: `test:${runId}:`,
}

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/** A fresh sub-prefix, so apps built by different tests do not share rate-limit counters or sessions. */
export function freshRedisPrefix(): string {
  return `${services.redisPrefix}${randomBytes(3).toString('hex')}:`
}
