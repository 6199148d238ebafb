/**
 * `npm run drill:local [-- sync|async]`: the local DR drill in synchronous and asynchronous
 * replication modes. Exits non-zero when a drill fails, when writes do not come back, or when
 * synchronous replication lost an acknowledged transaction (RPO must be 0 there).
 */
import { cleanUp, type DrillResult, runDrill } from './drill.js'

const MODE_TIME_LIMIT_MS = 120_000
const env = process.env
const modes = process.argv.slice(2).filter((a): a is 'sync' | 'async' => a === 'sync' || a === 'async')
const selected = modes.length > 0 ? modes : (['sync', 'async'] as const)

const log = (line: string) => console.log(`  ${line}`)

/** Rejects a drill that overruns its time budget, tearing down what it started so it cannot linger. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void cleanUp(log).finally(() => reject(new Error(`drill exceeded ${ms / 1000} s`)))
    }, ms)
  })
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
}

function problemsOf(r: DrillResult): string[] {
  const problems: string[] = []
  if (r.mode === 'sync' && r.rpoTransactions > 0) {
    problems.push(
      `synchronous replication lost ${r.rpoTransactions} acknowledged transaction(s): RPO must be 0`,
    )
  }
  if (r.duplicates > 0) problems.push(`${r.duplicates} transaction(s) applied twice`)
  if (r.balanceDrift !== '0')
    problems.push(`balance differs from the sum of its deposits by ${r.balanceDrift}`)
  if (r.serviceRestarted) problems.push('the service restarted; the writer must switch without a restart')
  if (r.outboxPending > 0)
    problems.push(`${r.outboxPending} outbox event(s) never relayed from the new primary`)
  return problems
}

function print(r: DrillResult): void {
  const errors = Object.entries(r.clientErrors)
    .map(([status, n]) => `${status} x${n}`)
    .join(', ')
  console.log(`\n  result (${r.mode} replication)`)
  console.log(
    `    RTO (no acknowledged write, last on the old primary -> first on the new): ${r.rtoSeconds.toFixed(2)} s`,
  )
  console.log(
    `    crash -> first acknowledged write on the new primary: ${r.crashToFirstWriteSeconds.toFixed(2)} s`,
  )
  console.log(
    `    steady state before the crash: ${r.writesPerSecondBeforeCrash} acknowledged transactions/s`,
  )
  console.log(
    `    RPO: ${r.rpoTransactions} of ${r.acknowledgedBeforeCrash} transactions acknowledged before the crash missing on the new primary`,
  )
  console.log(
    `    acknowledged in total: ${r.acknowledged}; duplicates: ${r.duplicates}; balance drift: ${r.balanceDrift}`,
  )
  console.log(`    errors seen by clients (then retried with the same key): ${errors || 'none'}`)
  const reads = Object.entries(r.reads)
    .map(([status, n]) => `${status} x${n}`)
    .join(', ')
  console.log(`    reads: ${reads || 'none'}; failed after the crash: ${r.readsFailedAfterCrash}`)
  console.log(
    `    service restarted: ${r.serviceRestarted ? 'yes' : 'no'}; outbox events left: ${r.outboxPending}`,
  )
}

async function main(): Promise<number> {
  const results: DrillResult[] = []
  let failed = false
  for (const mode of selected) {
    console.log(`\n=== local DR drill: ${mode} replication`)
    const started = Date.now()
    try {
      const result = await bounded(
        runDrill({
          mode,
          replicationDelayMs: Number(env.DRILL_REPLICATION_DELAY_MS ?? 40),
          steadyMs: Number(env.DRILL_STEADY_MS ?? 4000),
          clients: Number(env.DRILL_CLIENTS ?? 8),
          recoveryTimeoutMs: Number(env.DRILL_RECOVERY_TIMEOUT_MS ?? 30_000),
          redisUrl: env.DRILL_REDIS_URL ?? env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
          log,
        }),
        MODE_TIME_LIMIT_MS,
      )
      print(result)
      results.push(result)
      const problems = problemsOf(result)
      for (const p of problems) console.log(`    FAIL: ${p}`)
      if (problems.length > 0) failed = true
    } catch (err) {
      console.log(`    FAIL: ${(err as Error).message}`)
      failed = true
    }
    console.log(`=== ${mode}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  if (env.DRILL_REPORT_FILE) {
    const { writeFile } = await import('node:fs/promises')
    await writeFile(env.DRILL_REPORT_FILE, `${JSON.stringify(results, null, 2)}\n`)
  }
  console.log(failed ? '\ndrill FAILED' : '\ndrill passed')
  return failed ? 1 : 0
}

// Ctrl-C or a CI timeout: remove the clusters and the service before leaving.
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130)
    interrupted = true
    console.log(`\n${signal}: cleaning up (again to force exit)`)
    void cleanUp(log).finally(() => process.exit(130))
  })
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
