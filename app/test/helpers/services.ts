/**
 * The PostgreSQL and Redis this test run uses: the machine's servers by default, overridable
 * with TEST_POSTGRES_URL / TEST_REDIS_URL. Each run gets its own database and Redis key prefix.
 */
import { DEFAULT_ADMIN_URL, newRunId, withDatabase } from '../../../scripts/kit/postgres.js'
import { DEFAULT_REDIS_URL, newRedisPrefix } from '../../../scripts/kit/redis.js'

export { withDatabase }

const runId = newRunId()

/** Databases of test runs are named `${DATABASE_PREFIX}<runId>`. */
export const DATABASE_PREFIX = 'test_app_'

/** Connection details of this run; `databaseUrl` points at the run's own database. */
export const services = {
  runId,
  adminUrl: DEFAULT_ADMIN_URL,
  databaseName: `${DATABASE_PREFIX}${runId}`,
  databaseUrl: withDatabase(DEFAULT_ADMIN_URL, `${DATABASE_PREFIX}${runId}`),
  redisUrl: DEFAULT_REDIS_URL,
  /** Every Redis key this run writes starts with it; teardown deletes them all. */
  redisPrefix: `test:${runId}:`,
}

/** A fresh sub-prefix, so apps built by different tests do not share rate-limit counters or sessions. */
export function freshRedisPrefix(): string {
  return newRedisPrefix(services.redisPrefix)
}
