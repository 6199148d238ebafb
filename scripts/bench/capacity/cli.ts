/**
 * `npm run capacity [-- --figures out/bench/figures.json] [--dau 1000000,10000000] [--assume k=v] [--json]`:
 * the capacity model over both stacks' config (Pulumi.<stack>.yaml read through infra's own
 * loadConfig) and the per-instance figures a benchmark measured (default: the committed
 * scripts/bench/capacity/figures.json). docs/capacity.md explains the arithmetic.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { CapacityFigures } from './figures.js'
import {
  type Assumptions,
  averageRps,
  bottlenecks,
  DEFAULT_ASSUMPTIONS,
  modelLevel,
  perVcpuRps,
  type RegionInput,
} from './model.js'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    figures: { type: 'string', default: resolve(here, 'figures.json') },
    dau: { type: 'string', default: '1000000,10000000' },
    assume: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
  },
})

const assumptions: Assumptions = { ...DEFAULT_ASSUMPTIONS }
for (const kv of values.assume ?? []) {
  const [key, value] = kv.split('=')
  if (!key || !(key in DEFAULT_ASSUMPTIONS) || value === undefined || Number.isNaN(Number(value))) {
    console.error(`bad --assume "${kv}"; keys: ${Object.keys(DEFAULT_ASSUMPTIONS).join(', ')}`)
    process.exit(2)
  }
  assumptions[key as keyof Assumptions] = Number(value)
}
const figuresFile = resolve(process.env.INIT_CWD ?? process.cwd(), values.figures as string)
const figures = JSON.parse(readFileSync(figuresFile, 'utf8')) as CapacityFigures
const dauLevels = (values.dau as string).split(',').map(Number)

// Pulumi captures a stack trace per internal promise; without source maps that is cheap.
;(Error as unknown as { prepareStackTrace?: unknown }).prepareStackTrace = undefined
process.setSourceMapsEnabled(false)
const { runUnderMocks } = await import('../../../infra/plan/inventory.js')
const { loadConfig } = await import('../../../infra/src/config.js')
const { defaultMaxConnections } = await import('../../../infra/src/database.js')

const regions: RegionInput[] = []
for (const stack of ['us-east', 'eu-west'] as const) {
  const { result: c } = await runUnderMocks(stack, {}, () => loadConfig())
  regions.push({
    stack,
    taskVcpu: c.service.cpu / 1024,
    minTasks: c.service.minTasks,
    maxTasks: c.service.maxTasks,
    cpuTarget: c.service.cpuTarget,
    // The service's default; infra does not set DATABASE_POOL_MAX.
    poolMax: figures.instance.poolMax,
    db: {
      role: c.database.role,
      instanceClass: c.database.instanceClass,
      maxConnections: c.database.maxConnections ?? defaultMaxConnections(c.database.instanceClass),
      readReplicas: c.database.readReplicas,
    },
    cache: { nodeType: c.cache.nodeType, shards: c.cache.shards },
  })
}

const results = dauLevels.map((dau) => ({
  dau,
  levels: (['average', 'peak', 'spike'] as const).map((l) =>
    modelLevel(l, dau, regions, figures, assumptions),
  ),
  bottlenecks: bottlenecks(dau, regions, figures, assumptions),
}))

if (values.json) {
  process.stdout.write(`${JSON.stringify({ figures, assumptions, regions, results }, null, 2)}\n`)
  process.exit(0)
}

const n = (x: number, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d }) : '-'
const pct = (x: number) => `${n(x * 100)}%`
const a = assumptions
console.log(`Capacity model (figures: ${figuresFile}, measured ${figures.measuredAt})`)
console.log(
  `per instance: read ${n(figures.read.rps)} req/s (${n(figures.read.dbRoundTrips, 2)} db, ${n(figures.read.redisCommands, 2)} redis per request), ` +
    `write ${n(figures.write.rps)} req/s (${n(figures.write.writerRoundTrips, 2)} writer round trips, ${n(figures.write.redisCommands, 2)} redis) ` +
    `on ${figures.instance.vcpu} vCPU: ${n(perVcpuRps(figures, a.readsPerWrite))} req/s per vCPU at ${a.readsPerWrite}:1`,
)
console.log(
  `database on the same machine: TPC-B ${n(figures.database.tpcbTps)} tx/s, select-only ${n(figures.database.selectTps)} tx/s on ${figures.database.vcpu} vCPU (scaled by vCPU to each instance class)`,
)
console.log(
  `assumptions: ${a.requestsPerUserPerDay} requests per user per day, ${a.readsPerWrite}:1 reads:writes, peak ${a.peakFactor}x and spike ${a.spikeFactor}x the daily average, ` +
    `${pct(a.usShare)} of traffic in us-east, ${n(a.redisOpsPerShard)} Redis commands/s per shard, pools within ${pct(a.connectionHeadroom)} of max_connections`,
)
for (const r of regions) {
  console.log(
    `${r.stack}: tasks of ${r.taskVcpu} vCPU at ${r.cpuTarget}% CPU, ${r.minTasks}-${r.maxTasks}; pool ${r.poolMax} per task; ` +
      `${r.db.role} ${r.db.instanceClass} (max_connections ${r.db.maxConnections}, ${r.db.readReplicas} same-region replicas); Redis ${r.cache.shards} x ${r.cache.nodeType}`,
  )
}
for (const res of results) {
  console.log(`\n== ${n(res.dau)} daily users: ${n(averageRps(res.dau, a))} req/s on average`)
  console.log(
    'level    region   req/s    tasks  writer conns  replica load  redis/shard  writer conns (both) / max  writer load',
  )
  for (const l of res.levels) {
    for (const [i, r] of l.regions.entries()) {
      console.log(
        [
          (i === 0 ? l.level : '').padEnd(8),
          r.stack.padEnd(8),
          n(r.rps).padStart(7),
          `${n(r.tasks)}${r.tasksOverMax ? '!' : ''}`.padStart(6),
          n(r.writerConnections).padStart(13),
          pct(r.replicaUtilization).padStart(13),
          n(r.redisPerShard).padStart(12),
          i === 0 ? `${n(l.writerConnections)} / ${n(l.writerMaxConnections)}`.padStart(27) : '',
          i === 0 ? pct(l.writerUtilization).padStart(12) : '',
        ].join(' '),
      )
    }
  }
  const first = res.bottlenecks[0]
  console.log(`\nat the spike, sorted by the daily users each runs out at:`)
  for (const b of res.bottlenecks) {
    const over = b.utilization > 1
    console.log(
      `  ${over ? '!' : ' '} ${b.resource}: ${pct(b.utilization)}, runs out at ~${n(b.saturatesAtDau)} daily users${over ? `\n      change: ${b.change}` : ''}`,
    )
  }
  if (first) console.log(`first bottleneck: ${first.resource} (at ~${n(first.saturatesAtDau)} daily users)`)
}
