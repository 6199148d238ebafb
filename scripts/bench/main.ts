/**
 * `npm run bench`: a bounded local load benchmark of the real service. It prints numbers and never
 * fails on them: latency targets are read by people, not asserted (docs/benchmarks.md).
 *
 * Steps: own database + Redis namespace -> service process with the round-trip probe -> seeded
 * users -> sequential probe of database round trips per route -> baseline phase -> 10x burst ->
 * table, JSON in out/bench/, clean-up.
 */

import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { resolve } from 'node:path'
import pg from 'pg'
import { TcpProxy } from '../kit/tcp-proxy.js'
import { capacityFigures } from './capacity/figures.js'
import { measureRatios, runSpike } from './hot-paths.js'
import { type RouteResult, runPhase } from './load.js'
import type { RouteCounts } from './probe-types.js'
import { formatProbe, formatTable, type PhaseReport, probeRows } from './report.js'
import { type RunningService, root, startService, targetsFromEnv } from './service.js'
import { splitRate, summarize } from './stats.js'
import {
  BENCH_FUNDING_SECRET,
  ROUTES,
  type RouteSpec,
  seedUsers,
  send,
  transactionRequest,
} from './workload.js'

const env = process.env
const int = (name: string, fallback: number) => {
  const v = env[name]
  return v && /^\d+$/.test(v) ? Number(v) : fallback
}

const options = {
  users: int('BENCH_USERS', 50),
  baseRps: int('BENCH_BASE_RPS', 30),
  burstFactor: int('BENCH_BURST_FACTOR', 10),
  baseSeconds: int('BENCH_BASE_SECONDS', 15),
  burstSeconds: int('BENCH_BURST_SECONDS', 10),
  probeTransactions: int('BENCH_PROBE_TRANSACTIONS', 20),
  /** Which parts run after the probe: `burst` (rate-capped mix), `ratios` (closed loop vs anchors), `spike` (open loop). */
  parts: (env.BENCH_PARTS ?? 'burst,ratios,spike').split(',').map((s) => s.trim()),
  hot: {
    connections: int('BENCH_CONNECTIONS', 50),
    closedSeconds: int('BENCH_CLOSED_SECONDS', 5),
    spike: {
      baseShare: 0.1,
      factor: int('BENCH_SPIKE_FACTOR', 10),
      baseSeconds: int('BENCH_SPIKE_BASE_SECONDS', 10),
      spikeSeconds: int('BENCH_SPIKE_SECONDS', 30),
      afterSeconds: int('BENCH_SPIKE_AFTER_SECONDS', 15),
      capacityRps: int('BENCH_SPIKE_CAPACITY_RPS', 0),
    },
  },
  /** Milliseconds one database round trip costs from the EU to the US primary. */
  euRoundTripMs: int('BENCH_EU_RTT_MS', 80),
  /**
   * EU topology: the writer through a proxy adding BENCH_EU_RTT_MS per round trip (the US primary);
   * reads straight from the same database declared as the local replica.
   */
  eu: env.BENCH_EU === '1',
  /** The whole run stops (and cleans up) after this long, whatever happens. */
  hardLimitSeconds: int('BENCH_HARD_LIMIT_SECONDS', 420),
  /** Compare the probe's count with PostgreSQL's (costs two waits for the statistics to flush). */
  crossCheck: env.BENCH_CROSS_CHECK !== '0',
  /**
   * More environment for the service, space-separated NAME=VALUE pairs (after the bench's own, so
   * they win), e.g. `SHED_CONCURRENCY_MAX=512 SHED_EVENT_LOOP_DELAY_MS=50` to try shedding settings.
   */
  serviceEnv: serviceEnvFrom(env.BENCH_SERVICE_ENV ?? ''),
  /** Comma-separated parts of route names to leave out, e.g. `login` to see the rest without hashing. */
  exclude: (env.BENCH_EXCLUDE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
}

/** `A=1 B=2` as an environment; anything that is not NAME=VALUE stops the run before it starts. */
function serviceEnvFrom(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => {
        const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair)
        if (!match) throw new Error(`BENCH_SERVICE_ENV: "${pair}" is not NAME=VALUE`)
        return [match[1] as string, match[2] as string]
      }),
  )
}

const P95_TARGET_MS = 200
// PostgreSQL 15 backends flush their statistics at most once a second while busy and 10 s after
// going idle (PGSTAT_IDLE_INTERVAL); waiting longer makes pg_stat_database exact.
const STATS_FLUSH_MS = 11_500
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)

async function main() {
  const started = new Date()
  const loadBefore = loadavg()
  const targets = targetsFromEnv()
  log(`machine: ${cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`)

  let service: RunningService | undefined
  let proxy: TcpProxy | undefined
  const hardStop = setTimeout(() => {
    console.error(`bench: hard limit of ${options.hardLimitSeconds}s reached; stopping`)
    void (service?.close() ?? Promise.resolve()).finally(() => process.exit(1))
  }, options.hardLimitSeconds * 1000)
  hardStop.unref()
  // Ctrl-C: the service gets the signal too and drains; the database and keys still need removing.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}; cleaning up`)
      void (service?.close() ?? Promise.resolve()).finally(() => process.exit(130))
    })
  }

  try {
    if (options.eu) {
      const pgUrl = new URL(targets.adminUrl)
      // Half the round trip in each direction.
      proxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432), options.euRoundTripMs / 2)
      await proxy.up()
      log(
        `EU mode: writer through a proxy adding ${options.euRoundTripMs} ms per round trip, reads from a local replica (the same database, direct)`,
      )
    }
    const viaProxy = proxy
      ? (url: string) => {
          const u = new URL(url)
          u.hostname = '127.0.0.1'
          u.port = String(proxy?.port)
          return u.toString()
        }
      : undefined
    service = await startService(
      targets,
      {
        // All load comes from one address and a few accounts: the per-IP and per-account login
        // limits would answer 429 to nearly everything, which measures the limiter, not the service.
        LOGIN_MAX_PER_IP: '1000000',
        LOGIN_MAX_PER_ACCOUNT: '1000000',
        REGISTER_MAX_PER_IP: '1000000',
        REGISTER_MAX_PER_ACCOUNT: '1000000',
        // Opening balances arrive as signed funding events (users cannot deposit to themselves).
        FUNDING_WEBHOOK_SECRET: BENCH_FUNDING_SECRET,
        FUNDING_MAX_AMOUNT: '1000000000',
        FUNDING_DAILY_LIMIT: '1000000000000000',
        // The relay still runs right after every write (it is kicked); only its idle poll every
        // 500 ms is slowed, so no background statement straddles the cross-check's window edges.
        // The replica health check too, in EU mode.
        ...(options.crossCheck
          ? { OUTBOX_RELAY_INTERVAL_MS: '60000', DATABASE_REPLICA_CHECK_MS: '60000' }
          : {}),
        ...options.serviceEnv,
      },
      log,
      viaProxy,
    )
    const svc = service
    if (Object.keys(options.serviceEnv).length > 0) log(`service environment added: ${env.BENCH_SERVICE_ENV}`)
    const routes = await availableRoutes(svc.url)

    log(`seeding ${options.users} users (register, login, account, opening deposit)`)
    const seedStart = Date.now()
    const users = await seedUsers(
      svc.url,
      svc.databaseUrl,
      options.users,
      svc.databaseName.slice('bench_'.length),
    )
    log(`seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)}s`)

    // Autovacuum workers' transactions count in pg_stat_database too; their runs are counted apart.
    const autoBefore = options.crossCheck ? await autovacuumRuns(svc.databaseUrl) : 0
    if (options.crossCheck) await sleep(STATS_FLUSH_MS)
    const serverBefore = options.crossCheck ? await serverTransactions(targets.adminUrl, svc.databaseName) : 0
    const windowStart = Date.now()
    // Sequential probe: no concurrency, so every count belongs to exactly one request.
    await svc.probe(true)
    let created = 0
    const sequentialMs: number[] = []
    for (let i = 0; i < options.probeTransactions; i++) {
      const sentAt = performance.now()
      const res = await send(svc.url, transactionRequest(users, i))
      sequentialMs.push(performance.now() - sentAt)
      if (res.status !== 201)
        throw new Error(`probe transaction answered ${res.status}: ${JSON.stringify(res.body)}`)
      created++
    }
    for (const route of routes.filter((r) => r.name !== 'POST /v1/transactions')) {
      for (let i = 0; i < 3; i++) {
        const res = await send(svc.url, route.build(users, i))
        if (res.status >= 300)
          throw new Error(`probe ${route.name} answered ${res.status}: ${JSON.stringify(res.body)}`)
      }
    }
    const probe = await svc.probe(false)
    const tx = probe.routes['POST /v1/transactions']
    if (!tx || tx.requests !== created) {
      throw new Error(`probe saw ${tx?.requests ?? 0} transaction requests, sent ${created}`)
    }
    const roundTrips = tx.dbBeforeResponse / tx.requests
    const sequential = summarize(sequentialMs)
    console.log(`\nDatabase round trips per request (sequential probe, counted in the service's pg client):`)
    console.log(formatProbe(probeRows(probe)))
    console.log('\nStatements of POST /v1/transactions:')
    for (const [statement, count] of Object.entries(tx.statements)) {
      console.log(`  ${(count / tx.requests).toFixed(2)} x  ${statement}`)
    }

    let crossCheck:
      | { serverTransactions: number; clientQueries: number; autovacuumRuns: number; seconds: number }
      | undefined
    if (options.crossCheck) {
      // PostgreSQL's own count over the same window: every autocommit statement is one
      // transaction, so it must equal the queries the probe saw (requests + background work).
      await sleep(STATS_FLUSH_MS)
      const serverAfter = await serverTransactions(targets.adminUrl, svc.databaseName)
      const window = await svc.probe(true)
      const clientQueries = [...Object.values(window.routes), window.background].reduce(
        (n, c) => n + c.dbBeforeResponse + c.dbAfterResponse - c.dbInTransaction,
        0,
      )
      const autoRuns = (await autovacuumRuns(svc.databaseUrl)) - autoBefore
      crossCheck = {
        serverTransactions: serverAfter - serverBefore,
        clientQueries,
        autovacuumRuns: autoRuns,
        seconds: (Date.now() - windowStart) / 1000,
      }
      console.log(
        `\nCross-check over the probe window: PostgreSQL counted ${crossCheck.serverTransactions} transactions in the` +
          ` bench database (pg_stat_database), the probe counted ${clientQueries} (its queries, an explicit transaction's block counted once)` +
          (autoRuns ? ` + ${autoRuns} autovacuum/autoanalyze runs in the same database` : '') +
          ` (${crossCheck.serverTransactions === clientQueries + autoRuns ? 'equal' : 'NOT equal: some work bypasses the probe'})`,
      )
    } else {
      await svc.probe(true)
    }

    const memoryBefore = { ...svc.memory(), heapUsedBytes: probe.memory.heapUsed }
    const baseRates = splitRate(options.baseRps, Object.fromEntries(routes.map((r) => [r.name, r.weight])))
    const burstRates = Object.fromEntries(
      Object.entries(baseRates).map(([name, rps]) => [name, rps * options.burstFactor]),
    )

    const phases: PhaseReport[] = []
    const mixPhases = [
      ['baseline', baseRates, options.baseSeconds],
      [`burst x${options.burstFactor}`, burstRates, options.burstSeconds],
    ] as const
    for (const [phase, rates, seconds] of options.parts.includes('burst') ? mixPhases : []) {
      const total = Object.values(rates).reduce((a, b) => a + b, 0)
      log(`phase ${phase}: ${total} req/s target for ${seconds}s over ${routes.length} routes`)
      await svc.probe(true)
      const results = await runPhase(svc.url, routes, rates, seconds, users)
      const counts = await svc.probe(true)
      const memory = svc.memory()
      phases.push({
        phase,
        seconds,
        results,
        counts: counts.routes,
        memory: { ...memory, heapUsedBytes: counts.memory.heapUsed },
      })
    }

    const rowsWritten = await countTransactions(svc.databaseUrl)
    const posted = phases.reduce((n, p) => n + created2xx(p.results, 'POST /v1/transactions'), 0)
    const expectedRows = posted + created + options.users

    console.log(
      `\nLoad (latency in ms; ! marks p95 > ${P95_TARGET_MS} ms; errors = non-2xx + socket errors + timeouts;` +
        ' unanswered = reached the service, no answer before the phase ended):',
    )
    console.log(formatTable(phases, P95_TARGET_MS))
    const memoryAfter = phases.at(-1)?.memory
    const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`
    // Without the mix phases (BENCH_PARTS without burst) there is no "after" to print.
    if (memoryAfter)
      console.log(
        `\nService memory: RSS ${mb(memoryBefore.rssBytes)} before load -> ${phases.map((p) => `${mb(p.memory.rssBytes)} after ${p.phase}`).join(' -> ')}` +
          `; peak RSS ${mb(memoryAfter.peakRssBytes)} (goal under the burst <= 300 MB); heap used ${mb(memoryBefore.heapUsedBytes)} -> ${mb(memoryAfter.heapUsedBytes)}`,
      )
    console.log(
      `Transactions in the database: ${rowsWritten}; answered 201: ${expectedRows} (${options.users} seed + ${created} probe + ${posted} under load);` +
        ' extra rows are posts still in flight when a phase stopped, or that timed out at the client',
    )
    // The writer pool is the one an EU task reaches across the ocean; reads may use a local replica.
    const writerTrips = (tx.dbByTarget['blueprint-writer'] ?? 0) / tx.requests
    console.log(`\nround trips per transaction: ${fmt(roundTrips)} (to the writer: ${fmt(writerTrips)})`)
    const mode = options.eu ? `, EU mode: ${options.euRoundTripMs} ms per writer round trip` : ''
    console.log(
      `POST /v1/transactions one at a time (${sequential.count} sequential${mode}): p50 ${fmt(sequential.p50)} ms, p95 ${fmt(sequential.p95)} ms`,
    )
    const network = writerTrips * options.euRoundTripMs
    console.log(
      `projected EU write path: ${fmt(writerTrips)} x ${options.euRoundTripMs} ms = ${fmt(network)} ms of network to the US primary` +
        (options.eu
          ? ' (included in the sequential p50 above, which is measured with it)'
          : ` + ${fmt(sequential.p50)} ms measured here one at a time = ~${fmt(network + sequential.p50)} ms`),
    )
    if (tx.dbAfterResponse > 0) {
      console.log(
        `  plus ${fmt(tx.dbAfterResponse / tx.requests)} per request after the response (not on the latency path)`,
      )
    }
    for (const p of phases) {
      const opened = Object.values(p.counts).reduce((n, c) => n + c.connects, 0)
      console.log(
        `${p.phase}: requests opened ${opened} new PostgreSQL connections` +
          ' (from the EU each costs several round trips more: TCP, TLS, start-up and authentication)',
      )
    }
    // Throughput is measured as production runs: the probe's wrappers (an async context per
    // request, a counter per query and command) are not in the anchors either.
    await svc.probe(false, false)
    const hot = options.parts.includes('ratios')
      ? await measureRatios(svc, users, targets.redisUrl, targets.adminUrl, options.hot, log)
      : undefined
    const spike = options.parts.includes('spike')
      ? await runSpike(svc, users, routes, options.hot, log)
      : undefined
    const memoryEnd = svc.memory()
    console.log(
      `\nService peak RSS over the whole run: ${mb(memoryEnd.peakRssBytes)} (the closed loops at ${options.hot.connections} connections included; the goal is the burst's, above); RSS now ${mb(memoryEnd.rssBytes)}`,
    )
    const figures = capacityFigures({
      probe: probeRows(probe),
      hot,
      spike,
      poolMax: 10,
      cores: cpus().length,
    })

    const loadAfter = loadavg()
    log(
      `load average now ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (other work on this machine competes for the same cores)`,
    )

    const report = {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAfter,
        node: process.version,
      },
      options,
      roundTrips: {
        perTransaction: roundTrips,
        sequentialTransactionMs: sequential,
        writerPerTransaction: writerTrips,
        euMode: options.eu,
        afterResponsePerTransaction: tx.dbAfterResponse / tx.requests,
        projectedEuNetworkMs: writerTrips * options.euRoundTripMs,
        method:
          'pg Client.query calls attributed per HTTP request via AsyncLocalStorage (scripts/bench/db-probe.ts)',
        probe: probeRows(probe),
        transactionStatements: tx.statements,
        statementsByRoute: Object.fromEntries(
          Object.entries(probe.routes).map(([r, c]) => [r, c.statements]),
        ),
        background: probe.background,
        crossCheck,
      },
      phases: phases.map((p) => ({ ...p, counts: summarizeCounts(p.counts) })),
      memory: { beforeLoad: memoryBefore, phases: phases.map((p) => ({ phase: p.phase, ...p.memory })) },
      transactionsInDatabase: { rows: rowsWritten, expected: expectedRows },
      hotPaths: hot,
      spike,
      memoryEnd,
      figures,
    }
    const dir = resolve(root, 'out/bench')
    mkdirSync(dir, { recursive: true })
    const file = resolve(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
    log(`results written to ${file}`)
    if (figures) {
      const figuresFile = resolve(dir, 'figures.json')
      writeFileSync(figuresFile, `${JSON.stringify(figures, null, 2)}\n`)
      log(`capacity figures written to ${figuresFile} (npm run capacity -- --figures ${figuresFile})`)
    }
  } finally {
    await service?.close()
    await proxy?.down()
    clearTimeout(hardStop)
  }
}

function fmt(n: number): string {
  return Number.isFinite(n) ? (Math.round(n * 100) / 100).toString() : '-'
}

function created2xx(results: RouteResult[], route: string): number {
  const r = results.find((x) => x.route === route)
  return Object.entries(r?.statusCodes ?? {})
    .filter(([code]) => code.startsWith('2'))
    .reduce((n, [, c]) => n + c, 0)
}

function summarizeCounts(counts: Record<string, RouteCounts>) {
  return Object.fromEntries(
    Object.entries(counts).map(([route, c]) => [
      route,
      {
        requests: c.requests,
        dbBeforeResponse: c.dbBeforeResponse,
        dbAfterResponse: c.dbAfterResponse,
        dbByTarget: c.dbByTarget,
        connects: c.connects,
        redisCommands: c.redisCommands,
      },
    ]),
  )
}

/** Drops routes this build of the service does not have (search and reports arrived later). */
async function availableRoutes(baseUrl: string): Promise<RouteSpec[]> {
  const res = await fetch(`${baseUrl}/docs/json`)
  if (!res.ok) return ROUTES
  const doc = (await res.json()) as { paths?: Record<string, unknown> }
  const paths = new Set(Object.keys(doc.paths ?? {}))
  const kept = ROUTES.filter(
    (r) =>
      paths.has(r.name.split(' ')[1] as string) && !options.exclude.some((part) => r.name.includes(part)),
  )
  const dropped = ROUTES.filter((r) => !kept.includes(r)).map((r) => r.name)
  if (dropped.length) log(`skipped (excluded or not in this service): ${dropped.join(', ')}`)
  if (!kept.some((r) => r.name === 'POST /v1/transactions')) {
    throw new Error(
      'POST /v1/transactions is needed: the round trips per transaction are the point of the run',
    )
  }
  return kept
}

/** Autovacuum and autoanalyze runs PostgreSQL has recorded over every table of one database. */
async function autovacuumRuns(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)::text AS n FROM pg_stat_all_tables',
    )
    return Number(rows[0]?.n)
  } finally {
    await client.end()
  }
}

/** Committed plus rolled-back transactions PostgreSQL has counted in one database. */
async function serverTransactions(adminUrl: string, database: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    )
    return Number(rows[0]?.n)
  } finally {
    await client.end()
  }
}

async function countTransactions(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM transactions')
    return Number(rows[0]?.n)
  } finally {
    await client.end()
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
