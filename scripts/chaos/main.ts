/**
 * `npm run chaos [-- --short]`: deploys and instance loss that drop nothing, measured behind a real
 * load balancer (haproxy standing in for the ALB) with a steady load of reads and idempotent writes.
 * Prints each scenario's figures and exits 1 when one fails. `--short` is the CI pass (scripts/test.mjs
 * stage `chaos`): two instances and 3 s outages instead of three instances and 10 s. docs/resilience.md.
 */
import { writerAndReader } from '../kit/api.js'
import { sleep } from '../kit/net.js'
import { Workload } from '../kit/workload.js'
import { CHAOS_FUNDING_SECRET, Fleet } from './fleet.js'
import {
  dependencyOutage,
  exactlyOnce,
  killOne,
  rollingReplacement,
  type ScenarioResult,
  schemaChangeDeploy,
  type Timing,
} from './scenarios.js'

const short = process.argv.includes('--short')
const size = short ? 2 : 3
const timing: Timing = short ? { outageMs: 3000, settleMs: 2500 } : { outageMs: 10_000, settleMs: 3000 }
// A guard against a hang, not the budget: the short pass takes about 60 s on an idle 2-core machine.
const TIME_LIMIT_MS = short ? 150_000 : 300_000

let fleet: Fleet | undefined

async function main(): Promise<number> {
  const t0 = Date.now()
  console.log(`chaos (${short ? 'short' : 'full'}): ${size} instances behind haproxy`)
  fleet = await Fleet.start(size)
  console.log(`  fleet ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${fleet.url}`)
  const { writer, reader } = await writerAndReader(fleet.url, 4, CHAOS_FUNDING_SECRET)
  // Bounded and loopback only: a few clients with pauses, enough to keep every instance busy.
  const load = new Workload({
    baseUrl: fleet.url,
    token: writer.token,
    fundingSecret: CHAOS_FUNDING_SECRET,
    accountIds: writer.accountIds,
    currency: 'EUR',
    clients: short ? 3 : 4,
    readers: short ? 3 : 4,
    readToken: reader.token,
    requestTimeoutMs: 3000,
    retryDelayMs: 100,
    readPauseMs: short ? 50 : 25,
    writePauseMs: short ? 50 : 25,
  })
  load.start()
  const results: ScenarioResult[] = []
  const run = async (scenario: () => Promise<ScenarioResult>) => {
    const started = Date.now()
    const result = await scenario()
    results.push(result)
    print(result, Date.now() - started)
  }
  try {
    await sleep(1000)
    if (!short) await run(() => rollingReplacement(fleet as Fleet, load))
    await run(() => schemaChangeDeploy(fleet as Fleet, load))
    await run(() => dependencyOutage(fleet as Fleet, load, 'Redis', timing))
    await run(() => dependencyOutage(fleet as Fleet, load, 'PostgreSQL', timing))
    await run(() => killOne(fleet as Fleet, load, timing))
  } finally {
    await load.stop()
  }
  await run(() => exactlyOnce(fleet as Fleet, load))
  const failed = results.filter((r) => r.problems.length > 0)
  console.log(
    `\n${results.length - failed.length} passed, ${failed.length} failed (${load.attempts.length} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  )
  return failed.length ? 1 : 0
}

function print(r: ScenarioResult, ms: number): void {
  console.log(`\n  ${r.problems.length ? 'FAIL' : 'ok  '} ${r.name} (${(ms / 1000).toFixed(1)} s)`)
  for (const [k, v] of Object.entries(r.figures)) console.log(`       ${k}: ${v}`)
  for (const p of r.problems) console.log(`       FAIL: ${p}`)
  if (r.problems.some((p) => p.includes('OVERLOADED'))) {
    for (const line of fleet?.shedWarnings() ?? []) console.log(`       shed: ${line}`)
  }
}

async function cleanUp(): Promise<void> {
  const f = fleet
  fleet = undefined
  await f?.close()
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)))
}
const limit = setTimeout(() => {
  console.error(`chaos exceeded ${TIME_LIMIT_MS / 1000} s`)
  void cleanUp().finally(() => process.exit(1))
}, TIME_LIMIT_MS)

main()
  .then(
    async (code) => {
      await cleanUp()
      return code
    },
    async (err) => {
      console.error(err)
      await cleanUp()
      return 1
    },
  )
  .then((code) => {
    clearTimeout(limit)
    process.exit(code)
  })
