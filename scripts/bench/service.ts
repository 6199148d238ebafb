/**
 * The service under test: its own PostgreSQL database (migrated like a deploy would) and Redis key
 * namespace, and the real entry point as a separate process (the kit's `ServiceProcess`) with the
 * round-trip probe preloaded and reachable over IPC. Everything it creates is removed by `close()`.
 */
import { type ChildProcess, execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { applyMigrations } from '../../app/src/db/migrate.js'
import { createScratchDatabase, newRunId, sweepStaleDatabases } from '../kit/postgres.js'
import { deleteKeys } from '../kit/redis.js'
import { REPO_ROOT, ServiceProcess } from '../kit/service.js'
import type { ProbeSnapshot } from './probe-types.js'

export const root = REPO_ROOT
const run = promisify(execFile)

/**
 * The runtime environment the image sets besides NODE_ENV (Dockerfile, runtime stage): the
 * service is measured as it runs in production. service.test.ts checks that both agree.
 */
export const IMAGE_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' }

/**
 * The image's command (Dockerfile CMD) without `node`, relative to app/: the telemetry preload (a
 * no-op unless the environment sets an OTLP endpoint; bench:tracing does), then the entry point.
 */
export const IMAGE_COMMAND = [
  '--max-semi-space-size=16',
  '--import',
  './dist/src/telemetry/register.js',
  'dist/src/server.js',
]

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
  probe: (reset?: boolean, active?: boolean) => Promise<ProbeSnapshot>
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
  // Node strips the probe's types itself: no loader (tsx) is in the measured process.
  const probe = ['--import', './scripts/bench/db-probe.ts']
  // BENCH_BUILD=source runs the TypeScript through tsx, for a quick look without a compile.
  if (env.BENCH_BUILD === 'source') {
    return {
      build: 'source',
      nodeArgs: [...profile, '--import', './app/src/telemetry/register.ts', ...probe],
    }
  }
  // The image's preloads, in its order, with the probe just before the entry point.
  const preloads = IMAGE_COMMAND.slice(0, -1).map((arg) =>
    arg.startsWith('./') ? `./app/${arg.slice(2)}` : arg,
  )
  return { build: 'dist', nodeArgs: [...profile, ...preloads, ...probe] }
}

/**
 * Compiles the service as the image's build stage does (app/tsconfig.build.json into app/dist):
 * production runs compiled JavaScript, and a TypeScript loader in the process would add its own
 * memory and start-up work to what is measured. Incremental, so an unchanged tree takes seconds.
 */
async function buildService(log: (msg: string) => void): Promise<void> {
  const started = Date.now()
  await run(
    process.execPath,
    [
      resolve(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'app/tsconfig.build.json',
      '--incremental',
      '--tsBuildInfoFile',
      'app/dist/.tsbuildinfo',
    ],
    { cwd: root, timeout: 300_000 },
  )
  log(`service compiled to app/dist in ${((Date.now() - started) / 1000).toFixed(1)}s`)
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
    const command = serviceCommand()
    if (command.build === 'dist') await buildService(log)
    service = await ServiceProcess.start({
      ...command,
      ipc: true,
      waitFor: 'listening',
      env: {
        NODE_ENV: 'production',
        MFA_ENCRYPTION_OPTIONAL: 'true',
        ...IMAGE_ENV,
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
      probe: (reset = false, active?: boolean) => askProbe(child, nextId++, reset, active),
      memory: () => procMemory(pid),
      close: cleanup,
    }
  } catch (err) {
    await cleanup().catch(() => {})
    throw err
  }
}

/**
 * Asks the probe preloaded in `child` for its counters over IPC (`reset` zeroes them after;
 * `active` switches its counting on or off first).
 */
export function askProbe(
  child: ChildProcess,
  id: number,
  reset: boolean,
  active?: boolean,
): Promise<ProbeSnapshot> {
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
    child.send({ type: 'bench:probe', id, reset, active })
  })
}

function procMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssBytes: kb('VmRSS') * 1024, peakRssBytes: kb('VmHWM') * 1024 }
}
