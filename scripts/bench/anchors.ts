/**
 * Reference points measured in the same run as the service: bare Fastify, Fastify + one Redis GET,
 * Fastify + one pg SELECT (fixtures/anchor-server.ts, each its own process like the service), and
 * pgbench's TPC-B against its own scratch database. Ratios to these say how close the service is
 * to what the framework and the database allow on this machine at this moment.
 */
import { type ChildProcess, execFile, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { root } from './service.js'

const run = promisify(execFile)

/** Which anchor server to start. */
export type AnchorKind = 'bare' | 'redis' | 'pg'

/** A running anchor server. */
export interface Anchor {
  url: string
  pid: number
  close: () => Promise<void>
}

/** Starts one anchor server process and resolves once it listens. */
export function startAnchor(
  kind: AnchorKind,
  env: { databaseUrl: string; redisUrl: string; redisPrefix: string },
): Promise<Anchor> {
  const child: ChildProcess = fork(resolve(root, 'scripts/bench/fixtures/anchor-server.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      ANCHOR: kind,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      REDIS_PREFIX: `${env.redisPrefix}anchor:`,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolveAnchor, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`anchor ${kind} did not start within 30 s`))
    }, 30_000)
    child.once('exit', (code) => reject(new Error(`anchor ${kind} exited (${code}) before listening`)))
    child.on('message', (msg: { type?: string; port?: number }) => {
      if (msg?.type !== 'listening') return
      clearTimeout(timer)
      resolveAnchor({
        url: `http://127.0.0.1:${msg.port}`,
        pid: child.pid as number,
        close: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done()
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
            child.once('exit', () => {
              clearTimeout(kill)
              done()
            })
            child.disconnect()
          }),
      })
    })
  })
}

/** pgbench's TPC-B-like transaction rate with `clients` clients for `seconds`, in its own database. */
export async function pgbenchTpcb(
  adminUrl: string,
  options: { clients: number; seconds: number; scale: number },
): Promise<{ tps: number; selectTps: number; clients: number; scale: number; seconds: number }> {
  // Named like a run database (time first) so an interrupted one is swept by a later run.
  const database = `bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_pgb`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE "${database}"`)
    const u = new URL(adminUrl)
    u.pathname = `/${database}`
    const url = u.toString()
    await run('pgbench', ['-i', '-q', '-s', String(options.scale), url], { timeout: 120_000 })
    const { stdout } = await run(
      'pgbench',
      ['-c', String(options.clients), '-j', '2', '-T', String(options.seconds), '-n', url],
      { timeout: (options.seconds + 60) * 1000 },
    )
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN)
    // Select-only (one SELECT by key per transaction): what a read replica does for the service.
    const select = await run(
      'pgbench',
      ['-S', '-c', String(options.clients), '-j', '2', '-T', String(options.seconds), '-n', url],
      { timeout: (options.seconds + 60) * 1000 },
    )
    const selectTps = Number(/tps = ([\d.]+)/.exec(select.stdout)?.[1] ?? Number.NaN)
    return { tps, selectTps, clients: options.clients, scale: options.scale, seconds: options.seconds }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {})
    await admin.end()
  }
}
