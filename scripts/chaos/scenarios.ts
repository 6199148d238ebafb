/**
 * The chaos scenarios. Each runs against the fleet while the steady workload keeps going, and
 * judges only the requests sent inside its own window, so one scenario's expected failures (the
 * kill) cannot hide or blame another's.
 */
import { sleep, sql, waitUntil } from '../kit/index.js'
import type { Attempt, Workload } from '../kit/workload.js'
import type { Fleet } from './fleet.js'

/** What a scenario measured and what it found wrong (empty: passed). */
export interface ScenarioResult {
  name: string
  figures: Record<string, string | number>
  problems: string[]
}

/** Durations of one pass; the CI pass shortens them. */
export interface Timing {
  outageMs: number
  settleMs: number
}

const ok = (a: Attempt) => a.status === '200' || a.status === '201'
const within = (from: number, to: number) => (a: Attempt) => a.sentAt >= from && a.sentAt <= to

function statusTally(attempts: Attempt[]): string {
  const counts: Record<string, number> = {}
  for (const a of attempts) {
    const key = a.detail ? `${a.status} ${a.detail}` : a.status
    counts[key] = (counts[key] ?? 0) + 1
  }
  return Object.entries(counts)
    .map(([s, n]) => `${s} x${n}`)
    .join(', ')
}

function p(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

/** Every request sent in the window answered 2xx. */
function noFailures(name: string, attempts: Attempt[]): string[] {
  const failed = attempts.filter((a) => !ok(a))
  return failed.length ? [`${name}: ${failed.length} failed request(s): ${statusTally(failed)}`] : []
}

/** Rolling replacement of every instance: drain, SIGTERM, new instance ready, next. */
export async function rollingReplacement(
  fleet: Fleet,
  load: Workload,
  label = 'rolling replacement',
): Promise<ScenarioResult> {
  const from = Date.now()
  const steps: string[] = []
  const problems: string[] = []
  for (let slot = 0; slot < fleet.instances.length; slot++) {
    const step = await fleet.replace(slot)
    steps.push(
      `s${slot}: drain ${step.drainMs} ms, exit ${step.stopMs} ms (code ${step.exitCode}), new ready ${step.startMs} ms`,
    )
    if (step.exitCode !== 0)
      problems.push(`${label}: s${slot} exited with code ${step.exitCode} after SIGTERM`)
  }
  const to = Date.now()
  const window = load.attempts.filter(within(from, to))
  problems.push(...noFailures(label, window))
  return {
    name: label,
    figures: {
      requests: window.length,
      failed: window.filter((a) => !ok(a)).length,
      seconds: ((to - from) / 1000).toFixed(1),
      steps: steps.join('; '),
    },
    problems,
  }
}

/** Old instances serving, the expand migration applied under load, then every instance replaced. */
export async function schemaChangeDeploy(fleet: Fleet, load: Workload): Promise<ScenarioResult> {
  const from = Date.now()
  const applied = await fleet.applyExpandMigration()
  const migratedMs = Date.now() - from
  const columns = await sql<{ n: number }>(
    fleet.db.url,
    `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'channel'`,
  )
  const rolled = await rollingReplacement(fleet, load, 'deploy across a schema change')
  const window = load.attempts.filter(within(from, Date.now()))
  const problems = [
    ...rolled.problems.filter((p) => !p.includes('failed request')),
    ...noFailures(rolled.name, window),
  ]
  if (applied.length !== 1 || columns[0]?.n !== 1)
    problems.push(`expand migration not applied (applied: ${applied.join(', ') || 'none'})`)
  return {
    name: rolled.name,
    figures: {
      migration: applied.join(', '),
      'migration ms': migratedMs,
      requests: window.length,
      failed: window.filter((a) => !ok(a)).length,
      steps: rolled.figures.steps as string,
    },
    problems,
  }
}

/** A dependency (PostgreSQL or Redis) unreachable for `outageMs`, then back; no instance restarts. */
export async function dependencyOutage(
  fleet: Fleet,
  load: Workload,
  which: 'PostgreSQL' | 'Redis',
  t: Timing,
): Promise<ScenarioResult> {
  const link = which === 'PostgreSQL' ? fleet.pgLink : fleet.redisLink
  const pids = fleet.instances.map((s) => s.pid)
  const cutAt = Date.now()
  await link.down()
  await sleep(t.outageMs)
  await link.up()
  const restoredAt = Date.now()
  await sleep(t.settleMs)
  const window = load.attempts.filter(within(cutAt, Date.now()))
  const problems: string[] = []
  const unexpected = window.filter((a) => !['200', '201', '503'].includes(a.status))
  if (unexpected.length)
    problems.push(`${which} outage: answers other than 200/503: ${statusTally(unexpected)}`)
  const slow = window.filter((a) => a.at - a.sentAt > 1000)
  if (slow.length)
    problems.push(
      `${which} outage: ${slow.length} answer(s) took over 1 s (max ${Math.max(...slow.map((a) => a.at - a.sentAt))} ms)`,
    )
  // Recovered: from this send time on, every request succeeded.
  const after = window.filter((a) => a.sentAt >= restoredAt)
  const lastFailure = Math.max(restoredAt, ...after.filter((a) => !ok(a)).map((a) => a.sentAt))
  const recoveryMs = lastFailure - restoredAt
  if (recoveryMs > 2000) problems.push(`${which} outage: recovery took ${recoveryMs} ms (budget 2000)`)
  if (!after.some((a) => ok(a) && a.sentAt > lastFailure))
    problems.push(`${which} outage: no successful request after the restore`)
  const restarted = fleet.instances.some((s, i) => !s.running || s.pid !== pids[i])
  if (restarted) problems.push(`${which} outage: an instance restarted`)
  const latencies = window.map((a) => a.at - a.sentAt)
  return {
    name: `${which} outage of ${(t.outageMs / 1000).toFixed(0)} s`,
    figures: {
      requests: window.length,
      answers: statusTally(window),
      'p99 ms': p(latencies, 0.99),
      'max ms': Math.max(0, ...latencies),
      'recovery ms': recoveryMs,
      restarted: restarted ? 'yes' : 'no',
    },
    problems,
  }
}

/** `kill -9` of one instance: only requests in flight on it fail; retries store each write once. */
export async function killOne(fleet: Fleet, load: Workload, t: Timing): Promise<ScenarioResult> {
  const slot = 0
  const victim = fleet.instances[slot]
  if (!victim) throw new Error('no instance to kill')
  const inFlightBefore = load.attempts.length
  const killAt = Date.now()
  victim.kill('SIGKILL')
  // Requests sent between the signal and the process's end were in flight on it.
  const diedAt = (await victim.exited).at
  await waitUntil('balancer marks the killed instance DOWN', 10_000, async () => {
    const s = (await fleet.balancer?.servers())?.find((x) => x.name === `s${slot}`)
    return s?.status === 'DOWN'
  })
  const downAfterMs = Date.now() - killAt
  await sleep(t.settleMs)
  // Back to full strength for whatever runs next.
  const next = await fleet.startInstance()
  await fleet.balancer?.register(slot, Number(new URL(next.url).port))
  fleet.instances[slot] = next
  const window = load.attempts.slice(inFlightBefore).filter((a) => a.at >= killAt)
  const failed = window.filter((a) => !ok(a))
  const problems: string[] = []
  const late = failed.filter((a) => a.sentAt > diedAt)
  if (late.length)
    problems.push(`kill -9: ${late.length} request(s) sent after the kill failed: ${statusTally(late)}`)
  return {
    name: 'kill -9 of one instance',
    figures: {
      requests: window.length,
      'failed (in flight at the kill)': failed.length,
      'failed after the kill': late.length,
      'marked DOWN after ms': downAfterMs,
      'failed statuses': statusTally(failed) || 'none',
    },
    problems,
  }
}

/** After the load stopped: every acknowledged write stored exactly once, none stored twice. */
export async function exactlyOnce(fleet: Fleet, load: Workload): Promise<ScenarioResult> {
  const keys = load.acks.map((a) => a.key)
  const rows = await sql<{ description: string; n: number }>(
    fleet.db.url,
    'SELECT description, count(*)::int AS n FROM transactions WHERE description = ANY($1::text[]) GROUP BY description',
    [[...keys, ...load.unresolved]],
  )
  const counts = new Map(rows.map((r) => [r.description, r.n]))
  const missing = keys.filter((k) => !counts.has(k)).length
  const twice = rows.filter((r) => r.n > 1).length
  const retried = new Set(load.failures.map((f) => f.key))
  const problems: string[] = []
  if (missing) problems.push(`${missing} acknowledged write(s) missing from the database`)
  if (twice) problems.push(`${twice} write(s) stored more than once`)
  return {
    name: 'idempotent writes',
    figures: {
      acknowledged: keys.length,
      'retried after a failure': [...retried].filter((k) => counts.has(k)).length,
      missing,
      'stored twice': twice,
    },
    problems,
  }
}
