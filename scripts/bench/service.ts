/**
 * The service under test: its own PostgreSQL database (migrated like a deploy would) and Redis key
 * namespace, and the service compiled and started as the image starts it (its command and runtime
 * environment) as a separate process, with the probe preloaded. Everything it creates is removed
 * again by `close()`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import { applyMigrations } from '../../app/src/db/migrate.js'
import type { ProbeSnapshot } from './probe-types.js'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const run = promisify(execFile)

/**
 * The runtime environment the image sets besides NODE_ENV (Dockerfile, runtime stage): the
 * service is measured as it runs in production. service.test.ts checks that both agree.
 */
export const IMAGE_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' }

/**
 * The image's command (Dockerfile CMD) without `node`, run from app/: the telemetry preload (a
 * no-op unless the environment sets an OTLP endpoint; bench:tracing does), then the entry point.
 */
export const IMAGE_COMMAND = ['--import', './dist/src/telemetry/register.js', 'dist/src/server.js']

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

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
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

/** Creates the database and namespace, migrates, starts the service and waits until it listens. */
export async function startService(
  targets: BenchTargets,
  serviceEnv: Record<string, string>,
  log: (msg: string) => void,
  /** EU topology: the writer is reached through this (a delay proxy), the direct URL is the local replica. */
  writerVia?: (url: string) => string,
): Promise<RunningService> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  const databaseName = `bench_${runId}`
  const databaseUrl = withDatabase(targets.adminUrl, databaseName)
  const redisPrefix = `bench:${runId}:`

  const admin = new pg.Client({ connectionString: targets.adminUrl, connectionTimeoutMillis: 3000 })
  await admin.connect()
  try {
    await sweepStaleRuns(admin, targets.redisUrl, log)
    await admin.query(`CREATE DATABASE "${databaseName}"`)
  } finally {
    await admin.end()
  }
  let child: ChildProcess | undefined
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    const dropper = new pg.Client({ connectionString: targets.adminUrl, connectionTimeoutMillis: 3000 })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`).finally(() => dropper.end())
    await deleteKeys(targets.redisUrl, redisPrefix)
  }

  try {
    await applyMigrations({ databaseUrl, migrationsDir: resolve(root, 'prisma/migrations') })
    log(`database ${databaseName} migrated; redis prefix ${redisPrefix}`)

    await buildService(log)
    child = spawn(
      process.execPath,
      [
        // BENCH_CPU_PROF=1: a V8 CPU profile of the service, written when it exits (open in DevTools).
        ...(process.env.BENCH_CPU_PROF === '1'
          ? ['--cpu-prof', `--cpu-prof-dir=${resolve(root, 'out/bench/profiles')}`]
          : []),
        ...IMAGE_COMMAND.slice(0, -1),
        // The probe is plain TypeScript that Node runs by stripping its types: no loader (tsx)
        // is in the measured process.
        '--import',
        '../scripts/bench/db-probe.ts',
        ...IMAGE_COMMAND.slice(-1),
      ],
      {
        cwd: resolve(root, 'app'),
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_ENV: 'production',
          ...IMAGE_ENV,
          HOST: '127.0.0.1',
          PORT: '0',
          // Production's level: request logs are part of what a request costs.
          LOG_LEVEL: 'info',
          DATABASE_URL: writerVia ? writerVia(databaseUrl) : databaseUrl,
          ...(writerVia ? { DATABASE_REPLICA_URL: databaseUrl } : {}),
          REDIS_URL: targets.redisUrl,
          REDIS_KEY_PREFIX: redisPrefix,
          COOKIE_SECURE: 'false',
          ...serviceEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    )
    const url = await waitForListen(child)
    const pid = child.pid as number
    log(`service pid ${pid} listening on ${url}`)
    let nextId = 1
    const running = child
    return {
      url,
      pid,
      databaseName,
      databaseUrl,
      redisPrefix,
      output: () => outputs.get(running) ?? '',
      probe: (reset = false) => askProbe(running, nextId++, reset),
      memory: () => procMemory(pid),
      close: cleanup,
    }
  } catch (err) {
    await cleanup().catch(() => {})
    throw err
  }
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

const outputs = new WeakMap<ChildProcess, string>()

/** Resolves with the URL once the server logs where it listens. */
function waitForListen(child: ChildProcess): Promise<string> {
  outputs.set(child, '')
  const append = (d: Buffer) => {
    // Keep the tail only: a long run must not grow the benchmark's own memory.
    outputs.set(child, ((outputs.get(child) ?? '') + d.toString()).slice(-20_000))
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll)
      reject(new Error(`service did not start within 60 s:\n${outputs.get(child)}`))
    }, 60_000)
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/[\d.:]+)/.exec(outputs.get(child) ?? '')
      if (match) {
        clearTimeout(timer)
        clearInterval(poll)
        resolveUrl(match[1] as string)
      }
    }, 50)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      clearInterval(poll)
      reject(new Error(`service exited (${code ?? signal}) before listening:\n${outputs.get(child)}`))
    })
  })
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

// A run killed outright leaves its database and keys; later runs remove those older than an hour
// (run ids start with their start time, so a concurrent run is never touched).
const STALE_AFTER_MS = 60 * 60 * 1000

async function sweepStaleRuns(admin: pg.Client, redisUrl: string, log: (msg: string) => void): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'",
  )
  for (const { datname } of rows) {
    const runId = datname.slice('bench_'.length)
    const startedAt = Number.parseInt(runId.split('_')[0] ?? '', 36)
    if (!Number.isFinite(startedAt) || Date.now() - startedAt < STALE_AFTER_MS) continue
    await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
    await deleteKeys(redisUrl, `bench:${runId}:`)
    log(`removed ${datname} left by an interrupted run`)
  }
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
