/**
 * The service under test: its own PostgreSQL database (migrated like a deploy would) and Redis key
 * namespace, and the real entry point as a separate process (the kit's `ServiceProcess`) with the
 * round-trip probe preloaded and reachable over IPC. Everything it creates is removed by `close()`.
 */
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { applyMigrations } from '../../app/src/db/migrate.js'
import { createScratchDatabase, newRunId, sweepStaleDatabases } from '../kit/postgres.js'
import { deleteKeys } from '../kit/redis.js'
import { REPO_ROOT, ServiceProcess } from '../kit/service.js'
import type { ProbeSnapshot } from './probe-types.js'

export const root = REPO_ROOT

/** Where the benchmark's state lives; overridable like the test suite's. */
export interface BenchTargets {
  adminUrl: string
  redisUrl: string
}

/** Targets from BENCH_/TEST_ environment variables, else this machine's servers. */
export function targetsFromEnv(env = process.env): BenchTargets {
  return {
    adminUrl:
      env.BENCH_POSTGRES_URL ?? env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.BENCH_REDIS_URL ?? env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  }
}

/** A running service and how to talk to it. */
export interface RunningService {
  url: string
  pid: number
  databaseName: string
  databaseUrl: string
  redisPrefix: string
  output: () => string
  /** Counters of the in-process probe; `reset` starts the next window from zero. */
  probe: (reset?: boolean) => Promise<ProbeSnapshot>
  /** Resident set size and its peak so far, from /proc (what the OS charges the process). */
  memory: () => { rssBytes: number; peakRssBytes: number }
  close: () => Promise<void>
}

const DATABASE_PREFIX = 'bench_'
// A run killed outright leaves its database and keys; later runs remove those older than an hour
// (run ids start with their start time, so a concurrent run is never touched).
const STALE_AFTER_MS = 60 * 60 * 1000

/**
 * BENCH_BUILD=dist runs the compiled service (`npm run build` first) as the image does; the
 * probe, being TypeScript, is then preloaded through tsx.
 */
function serviceCommand(env = process.env): { build: 'source' | 'dist'; nodeArgs: string[] } {
  // BENCH_CPU_PROF=1: a V8 CPU profile of the service, written when it exits (open in DevTools).
  const profile =
    env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${resolve(root, 'out/bench/profiles')}`] : []
  const probe = ['--import', './scripts/bench/db-probe.ts']
  // As in production; a no-op unless the service's env sets an OTLP endpoint (bench:tracing does).
  if (env.BENCH_BUILD === 'dist') {
    return {
      build: 'dist',
      nodeArgs: [...profile, '--import', './app/dist/src/telemetry/register.js', '--import', 'tsx', ...probe],
    }
  }
  return { build: 'source', nodeArgs: [...profile, '--import', './app/src/telemetry/register.ts', ...probe] }
}

/** Creates the database and namespace, migrates, starts the service and waits until it listens. */
export async function startService(
  targets: BenchTargets,
  serviceEnv: Record<string, string>,
  log: (msg: string) => void,
  /** EU topology: the writer is reached through this (a delay proxy), the direct URL is the local replica. */
  writerVia?: (url: string) => string,
): Promise<RunningService> {
  for (const runId of await sweepStaleDatabases(targets.adminUrl, DATABASE_PREFIX, STALE_AFTER_MS)) {
    await deleteKeys(targets.redisUrl, `bench:${runId}:`)
    log(`removed ${DATABASE_PREFIX}${runId} left by an interrupted run`)
  }
  const runId = newRunId()
  const database = await createScratchDatabase(targets.adminUrl, DATABASE_PREFIX, runId)
  const redisPrefix = `bench:${runId}:`
  let service: ServiceProcess | undefined
  const cleanup = async () => {
    await service?.stop(10_000)
    await database.drop()
    await deleteKeys(targets.redisUrl, redisPrefix)
  }

  try {
    await applyMigrations({ databaseUrl: database.url, migrationsDir: resolve(root, 'prisma/migrations') })
    log(`database ${database.name} migrated; redis prefix ${redisPrefix}`)
    service = await ServiceProcess.start({
      ...serviceCommand(),
      ipc: true,
      waitFor: 'listening',
      env: {
        NODE_ENV: 'production',
        // Production's level: request logs are part of what a request costs.
        LOG_LEVEL: 'info',
        DATABASE_URL: writerVia ? writerVia(database.url) : database.url,
        ...(writerVia ? { DATABASE_REPLICA_URL: database.url } : {}),
        REDIS_URL: targets.redisUrl,
        REDIS_KEY_PREFIX: redisPrefix,
        COOKIE_SECURE: 'false',
        ...serviceEnv,
      },
    })
    const pid = service.pid as number
    log(`service pid ${pid} listening on ${service.url}`)
    let nextId = 1
    const { child } = service
    return {
      url: service.url,
      pid,
      databaseName: database.name,
      databaseUrl: database.url,
      redisPrefix,
      output: () => service?.output() ?? '',
      probe: (reset = false) => askProbe(child, nextId++, reset),
      memory: () => procMemory(pid),
      close: cleanup,
    }
  } catch (err) {
    await cleanup().catch(() => {})
    throw err
  }
}

/** Asks the probe preloaded in `child` for its counters over IPC (`reset` zeroes them after). */
export function askProbe(child: ChildProcess, id: number, reset: boolean): Promise<ProbeSnapshot> {
  return new Promise((resolveSnap, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      reject(new Error('the probe in the service did not answer within 10 s'))
    }, 10_000)
    const onMessage = (msg: { type?: string; id?: number; snapshot?: ProbeSnapshot }) => {
      if (msg?.type !== 'bench:probe' || msg.id !== id || !msg.snapshot) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolveSnap(msg.snapshot)
    }
    child.on('message', onMessage)
    child.send({ type: 'bench:probe', id, reset })
  })
}

function procMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssBytes: kb('VmRSS') * 1024, peakRssBytes: kb('VmHWM') * 1024 }
}
