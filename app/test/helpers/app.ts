/** Builds the real application against this run's database and Redis, for `app.inject` tests. */
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildServer } from '../../src/build.js'
import { type Config, loadConfig } from '../../src/config.js'
import { TEST_FUNDING_SECRET } from './funding.js'
import { freshRedisPrefix, services } from './services.js'

/** The environment a test instance starts from; a test overrides what it is about. */
export function testEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: freshRedisPrefix(),
    LOG_LEVEL: 'silent',
    // Cheap hashes keep the suite fast; one test checks the production cost (m=19 MiB, t=2).
    PASSWORD_ARGON2_MEMORY_KIB: '64',
    PASSWORD_ARGON2_PASSES: '1',
    // A busy shared machine lags the event loop by itself; shedding is tested on its own
    // (load-shedding.test.ts), elsewhere it would turn CI load into random 503s.
    SHED_EVENT_LOOP_DELAY_MS: '0',
    SHED_POOL_WAITING: '0',
    SHED_CONCURRENCY_MAX: '0',
    // Tests fund accounts through the signed webhook (helpers/funding.ts); limits high enough for any spec.
    FUNDING_WEBHOOK_SECRET: TEST_FUNDING_SECRET,
    FUNDING_MAX_AMOUNT: '1000000000000000',
    FUNDING_DAILY_LIMIT: '9000000000000000',
    ...overrides,
  }
}

/** Configuration for a test instance. */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig(testEnv(overrides))
}

/** Collects the JSON log lines an instance writes. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = []
  readonly raw: string[] = []

  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      this.raw.push(line)
      this.lines.push(JSON.parse(line))
    }
    done()
  }
}

/** A ready app instance; close it in an `after` hook. */
export async function buildTestApp(
  overrides: Record<string, string | undefined> = {},
  logStream?: LogCapture,
): Promise<FastifyInstance> {
  const app = await buildServer(testConfig(overrides), { logStream })
  await app.ready()
  return app
}

/**
 * Registers the suite's hooks: an app built with `overrides` before its tests (handed to `built`),
 * closed after them.
 */
export function appPerSuite(
  overrides: Record<string, string | undefined>,
  built: (app: FastifyInstance) => void,
): void {
  let app: FastifyInstance | undefined
  before(async () => {
    app = await buildTestApp(overrides)
    built(app)
  })
  after(async () => {
    await app?.close()
  })
}
