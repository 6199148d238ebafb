/**
 * One failover drill on this machine: a PostgreSQL primary and a streaming standby (through a
 * link with latency), the service as a real process writing to the primary and reading from the
 * standby, a steady stream of deposits, then the primary crashes, the standby is promoted and the
 * service's writer endpoint file is switched, with no service restart. Measures RTO and RPO.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writerAndReader } from '../../scripts/kit/api.js'
import {
  deleteKeys,
  freePort,
  LocalCluster,
  newRedisPrefix,
  removeDir,
  ServiceProcess,
  scratchDir,
  sleep,
  sql,
  TcpProxy,
  waitUntil,
} from '../../scripts/kit/index.js'
import { type Ack, Workload } from '../../scripts/kit/workload.js'
import { applyMigrations } from '../src/db/migrate.js'

const migrationsDir = join(import.meta.dirname, '../../prisma/migrations')
const DATABASE = 'drill'
const STANDBY_NAME = 'drill_standby'

/** The drill service's funding webhook secret (a local, throwaway instance). */
const DRILL_FUNDING_SECRET = 'drill-funding-webhook-secret-0123456789'
/** How one drill runs. */
export interface DrillOptions {
  mode: 'sync' | 'async'
  /** One-way latency between primary and standby (a stand-in for the Atlantic). */
  replicationDelayMs: number
  /** Traffic before the crash, and after writes are back. */
  steadyMs: number
  clients: number
  /** Give up when writes have not come back within this long after the crash. */
  recoveryTimeoutMs: number
  redisUrl: string
  log: (line: string) => void
}

/** What the drill measured. */
export interface DrillResult {
  mode: 'sync' | 'async'
  /** Seconds without successful writes: last acknowledgement before the crash to the first by the new primary. */
  rtoSeconds: number
  /** From the crash to the first acknowledged write on the new primary (seconds). */
  crashToFirstWriteSeconds: number
  writesPerSecondBeforeCrash: number
  /** Acknowledged transactions missing on the new primary. */
  rpoTransactions: number
  acknowledged: number
  acknowledgedBeforeCrash: number
  /** Transactions found more than once on the new primary (must be 0: idempotency). */
  duplicates: number
  /** Sum over the drill's accounts of |balance - sum of deposits| on the new primary (must be 0). */
  balanceDrift: string
  clientErrors: Record<string, number>
  /** Reads (GET /v1/transactions) by outcome over the whole run, and failed reads after the crash. */
  reads: Record<string, number>
  readsFailedAfterCrash: number
  serviceRestarted: boolean
  /** Outbox events still undelivered 10 s after traffic stopped (the relay must follow the switch). */
  outboxPending: number
  /** Distinct error-level log lines of the service (a 500 is a bug; 503 is the expected answer). */
  serverErrors: string[]
  timings: Record<string, number>
}

type Cleanup = () => Promise<void> | void

// What the running drill started, newest last; each step runs once, whoever calls cleanUp first.
const started: Cleanup[] = []

/** Stops and removes everything the running drill started (also from signal handlers). */
export async function cleanUp(log: (line: string) => void): Promise<void> {
  for (let step = started.pop(); step; step = started.pop()) {
    await Promise.resolve()
      .then(step)
      .catch((err: Error) => log(`cleanup step failed: ${err.message}`))
  }
}

/** Runs one drill and always removes what it started, even when it fails. */
export async function runDrill(opts: DrillOptions): Promise<DrillResult> {
  try {
    return await drill(opts, started)
  } finally {
    await cleanUp(opts.log)
  }
}

async function drill(opts: DrillOptions, cleanups: Cleanup[]): Promise<DrillResult> {
  const t0 = Date.now()
  const timings: Record<string, number> = {}
  const mark = (name: string) => {
    timings[name] = (Date.now() - t0) / 1000
    opts.log(`[${timings[name].toFixed(2)}s] ${name}`)
  }

  await sweepAbandoned(opts.log)
  const dir = scratchDir(`drill-${opts.mode}`)
  cleanups.push(() => removeDir(dir))
  writeFileSync(join(dir, 'drill.pid'), String(process.pid))

  const primary = await LocalCluster.create(dir, 'primary')
  cleanups.push(() => primary.stopQuietly())
  await primary.start()
  await sql(primary.url(), `CREATE DATABASE ${DATABASE}`)
  await applyMigrations({ databaseUrl: primary.url(DATABASE), migrationsDir })
  mark(`primary up on ${primary.endpoint}, migrated`)

  const link = new TcpProxy('127.0.0.1', primary.port, opts.replicationDelayMs)
  await link.up()
  cleanups.push(() => link.down())
  const standby = await LocalCluster.standbyOf(primary, dir, 'standby', {
    via: { host: '127.0.0.1', port: link.port },
    applicationName: STANDBY_NAME,
  })
  cleanups.push(() => standby.stopQuietly())
  await standby.start()
  await waitUntil('standby streaming', 20_000, async () => {
    const rows = await sql(
      primary.url(),
      `SELECT state FROM pg_stat_replication WHERE application_name = $1`,
      [STANDBY_NAME],
    )
    return rows[0]?.state === 'streaming'
  })
  if (opts.mode === 'sync') {
    // remote_apply would also be RPO 0; `on` (standby flushed) is what RPO needs.
    await sql(primary.url(), `ALTER SYSTEM SET synchronous_standby_names = '"${STANDBY_NAME}"'`)
    await sql(primary.url(), `ALTER SYSTEM SET synchronous_commit = 'on'`)
    await sql(primary.url(), 'SELECT pg_reload_conf()')
    await waitUntil('standby synchronous', 10_000, async () => {
      const rows = await sql(
        primary.url(),
        `SELECT sync_state FROM pg_stat_replication WHERE application_name = $1`,
        [STANDBY_NAME],
      )
      return rows[0]?.sync_state === 'sync'
    })
  }
  mark(`standby streaming (${opts.mode}) on ${standby.endpoint} via a ${opts.replicationDelayMs} ms link`)

  const endpointFile = join(dir, 'writer-endpoint')
  await writeFile(endpointFile, primary.endpoint)
  const redisPrefix = newRedisPrefix('drill:')
  cleanups.push(async () => void (await deleteKeys(opts.redisUrl, redisPrefix)))
  const service = await ServiceProcess.start({
    port: await freePort(),
    env: {
      NODE_ENV: 'production',
      // Throwaway instance: TOTP seeds unsealed, by the explicit opt-out.
      MFA_ENCRYPTION_OPTIONAL: 'true',
      DATABASE_URL: primary.url(DATABASE),
      DATABASE_REPLICA_URL: standby.url(DATABASE),
      DATABASE_WRITER_ENDPOINT_SOURCE: `file:${endpointFile}`,
      DATABASE_WRITER_POLL_MS: '1000',
      DATABASE_REPLICA_CHECK_MS: '1000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_QUERY_TIMEOUT_MS: '3000',
      // Far above this link's lag, and short enough that the reading user's setup write expires
      // before the crash.
      DATABASE_READ_YOUR_WRITES_MS: '2000',
      REDIS_URL: opts.redisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      LOG_LEVEL: 'warn',
      COOKIE_SECURE: 'false',
      PASSWORD_ARGON2_MEMORY_KIB: '4096',
      PASSWORD_ARGON2_PASSES: '1',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // Deposits are signed funding events (docs/api-transactions.md); limits far above the drill's volume.
      FUNDING_WEBHOOK_SECRET: DRILL_FUNDING_SECRET,
      FUNDING_MAX_AMOUNT: '1000000000',
      FUNDING_DAILY_LIMIT: '1000000000000000',
    },
  })
  cleanups.push(async () => void (await service.stop()))
  const servicePid = service.pid
  writeFileSync(join(dir, 'service.pid'), String(servicePid))
  mark(`service ready at ${service.url} (pid ${servicePid})`)

  const { writer, reader } = await writerAndReader(service.url, opts.clients, DRILL_FUNDING_SECRET)
  const { token, accountIds } = writer
  const workload = new Workload({
    baseUrl: service.url,
    token,
    fundingSecret: DRILL_FUNDING_SECRET,
    accountIds,
    currency: 'EUR',
    clients: opts.clients,
    readers: 2,
    readToken: reader.token,
    requestTimeoutMs: 3000,
    retryDelayMs: 100,
  })
  const trafficFrom = Date.now()
  workload.start()
  cleanups.push(() => workload.stop())
  await sleep(opts.steadyMs)
  if (workload.ackCount === 0) throw new Error(`no write succeeded before the crash:\n${service.tail()}`)

  // The crash: the primary dies without a checkpoint, and WAL still on the wire is lost with it.
  const crashAt = Date.now()
  const ackedBeforeCrash = workload.ackCount
  // Cut first: pg_ctl takes a few ms to kill, and the link would deliver what it holds meanwhile.
  await link.down()
  await primary.stop('immediate')
  // Any request sent from now on and acknowledged was served by the new primary.
  const deadAt = Date.now()
  mark(`primary killed (immediate) after ${ackedBeforeCrash} acknowledged transactions`)

  await standby.promote()
  mark('standby promoted')
  await writeFile(endpointFile, standby.endpoint)
  mark('writer endpoint file switched to the new primary')

  const recovered = await waitUntil('writes back', opts.recoveryTimeoutMs, async () =>
    workload.acks.some((a) => a.sentAt > deadAt),
  ).then(
    () => true,
    () => false,
  )
  if (recovered) {
    mark('writes acknowledged again')
    await sleep(opts.steadyMs)
  }
  await workload.stop()
  mark(`traffic stopped: ${workload.ackCount} acknowledged`)
  if (!recovered)
    throw new Error(`writes did not come back within ${opts.recoveryTimeoutMs} ms:\n${service.tail()}`)

  // The outbox relay (a component built at boot) must follow the switch and drain the new primary.
  const outboxPending = async () =>
    Number((await sql(standby.url(DATABASE), 'SELECT count(*)::int AS n FROM outbox_events'))[0]?.n)
  await waitUntil('outbox drained', 10_000, async () => (await outboxPending()) === 0).catch(() => {})
  const outboxLeft = await outboxPending()
  mark(`outbox events left undelivered on the new primary: ${outboxLeft}`)

  const serverErrors = [
    ...new Set(
      service.logs
        .map((line) => parseLog(line))
        .filter((entry) => (entry?.level ?? 0) >= 50)
        .map((entry) => `${entry?.msg}: ${entry?.err?.message ?? ''}`.slice(0, 200)),
    ),
  ]
  const serviceRestarted = !service.running || service.pid !== servicePid
  const verdict = await compare(standby.url(DATABASE), accountIds, workload.acks)
  return {
    mode: opts.mode,
    rtoSeconds: outage(workload.acks, crashAt, deadAt) / 1000,
    crashToFirstWriteSeconds: (firstOnNewPrimary(workload.acks, deadAt) - crashAt) / 1000,
    writesPerSecondBeforeCrash: Math.round(ackedBeforeCrash / ((crashAt - trafficFrom) / 1000)),
    rpoTransactions: verdict.missing,
    acknowledged: workload.ackCount,
    acknowledgedBeforeCrash: ackedBeforeCrash,
    duplicates: verdict.duplicates,
    balanceDrift: verdict.balanceDrift,
    clientErrors: tally(workload.failures.map((f) => f.status)),
    reads: tally(workload.reads.map((r) => r.status)),
    readsFailedAfterCrash: workload.reads.filter((r) => r.at > crashAt && r.status !== '200').length,
    serviceRestarted,
    outboxPending: outboxLeft,
    serverErrors,
    timings,
  }
}

/**
 * Removes what a drill killed with SIGKILL left behind (its `finally` never ran): clusters,
 * service and directory of every drill whose own process is gone. Live drills are left alone.
 */
async function sweepAbandoned(log: (line: string) => void): Promise<void> {
  const root = tmpdir()
  for (const name of readdirSync(root).filter((n) => n.startsWith('blueprint-drill-'))) {
    const dir = join(root, name)
    const owner = readPid(join(dir, 'drill.pid'))
    if (owner !== undefined && alive(owner)) continue
    const service = readPid(join(dir, 'service.pid'))
    if (service !== undefined && alive(service)) process.kill(service, 'SIGKILL')
    for (const cluster of ['primary', 'standby']) {
      if (existsSync(join(dir, cluster, 'postmaster.pid')))
        await new LocalCluster(join(dir, cluster), 0).stopQuietly()
    }
    removeDir(dir)
    log(`removed an abandoned drill: ${dir}`)
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function parseLog(line: string): { level?: number; msg?: string; err?: { message?: string } } | undefined {
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}

/** Acknowledged transactions missing on the new primary, duplicates, and the balance invariant. */
async function compare(url: string, accountIds: string[], acks: Ack[]) {
  const ids = acks.map((a) => a.transactionId)
  const present = await sql(url, 'SELECT count(*)::int AS n FROM transactions WHERE id = ANY($1::uuid[])', [
    ids,
  ])
  const dupes = await sql(
    url,
    `SELECT count(*)::int AS n FROM (
       SELECT description FROM transactions WHERE to_account_id = ANY($1::uuid[])
        GROUP BY description HAVING count(*) > 1
     ) d`,
    [accountIds],
  )
  const drift = await sql(
    url,
    `SELECT sum(abs(a.balance - coalesce((SELECT sum(amount) FROM transactions WHERE to_account_id = a.id), 0)))::text
              AS drift, count(*)::int AS accounts
       FROM accounts a WHERE a.id = ANY($1::uuid[])`,
    [accountIds],
  )
  return {
    missing: ids.length - Number(present[0]?.n ?? 0),
    duplicates: Number(dupes[0]?.n ?? 0),
    balanceDrift: drift[0]?.accounts === accountIds.length ? String(drift[0]?.drift) : 'accounts missing',
  }
}

/** First acknowledgement of a request sent after the primary was dead. */
function firstOnNewPrimary(acks: Ack[], deadAt: number): number {
  return Math.min(...acks.filter((a) => a.sentAt > deadAt).map((a) => a.at))
}

/** From the last acknowledgement before the crash to the first one the new primary gave. */
function outage(acks: Ack[], crashAt: number, deadAt: number): number {
  const lastBefore = Math.max(...acks.filter((a) => a.at <= crashAt).map((a) => a.at))
  return firstOnNewPrimary(acks, deadAt) - lastBefore
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1
  return counts
}
