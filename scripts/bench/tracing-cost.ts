/**
 * `npm run bench:tracing`: what OpenTelemetry costs in throughput, measured in one run. Starts the
 * service side by side (telemetry off; metrics only; on at the default sampling, 10% capped at 10 new
 * traces a second; the same 10% without the cap; on with every trace recorded),
 * each exporting to a local OTLP sink, then drives the same closed-loop load at each in turn,
 * round after round (off, on, always-on, then the reverse order), so that the shared machine's
 * noise hits all alike. Each round gives a ratio (variant / off of the same round); the result is
 * the median of those ratios with their spread. Each round also reads the CPU time the service's
 * main thread (its event loop, the bottleneck of a Node process) spent per answered request: on a
 * shared machine, throughput moves with the neighbours, CPU per request much less. Its ratio (off's
 * CPU per request / the variant's) is the throughput a CPU-bound instance keeps. Prints; never fails
 * on the numbers.
 *
 * BENCH_TRACING_SECONDS (per round and variant, default 5), BENCH_TRACING_ROUNDS (default 8),
 * BENCH_TRACING_CONNECTIONS (default 20), BENCH_TRACING_ALWAYS_ON=0 drops the 100% variant,
 * BENCH_TRACING_VARIANTS adds variants with more environment (see below).
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadavg } from 'node:os'
import autocannon from 'autocannon'
import { type RunningService, startService, targetsFromEnv } from './service.js'
import { percentile } from './stats.js'
import { BENCH_FUNDING_SECRET, seedUsers } from './workload.js'

const env = process.env
const int = (name: string, fallback: number) =>
  env[name] && /^\d+$/.test(env[name]) ? Number(env[name]) : fallback
const seconds = int('BENCH_TRACING_SECONDS', 5)
const rounds = int('BENCH_TRACING_ROUNDS', 8)
const connections = int('BENCH_TRACING_CONNECTIONS', 20)
const log = (msg: string) => console.log(`[bench:tracing ${new Date().toISOString().slice(11, 19)}] ${msg}`)

/** The variant tracing is priced against: metrics on, tracing off. */
const METRICS_ONLY = 'metrics only (tracing off)'

/** What every variant runs with besides its telemetry settings. */
const SERVICE_ENV = {
  // The seeding funds its account through the signed webhook.
  FUNDING_WEBHOOK_SECRET: BENCH_FUNDING_SECRET,
  FUNDING_MAX_AMOUNT: '1000000000',
  FUNDING_DAILY_LIMIT: '1000000000000000',
  // Shedding answers a cheap 503 once the loop lags, which a busy machine makes it do at random:
  // it would measure the machine, not the service. Only 2xx answers are counted either way.
  SHED_EVENT_LOOP_DELAY_MS: '0',
}

/** An OTLP/HTTP endpoint that accepts and discards everything (the sidecar's role, minus its cost). */
async function startSink() {
  let requests = 0
  let bytes = 0
  const server = createServer((req, res) => {
    req.on('data', (d: Buffer) => {
      bytes += d.length
    })
    req.on('end', () => {
      requests++
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats: () => ({ requests, bytes }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

interface Variant {
  name: string
  env: Record<string, string>
  service?: RunningService
  token?: string
  rps: number[]
  /** Main-thread CPU microseconds per 2xx answer, per round. */
  cpu: number[]
}

/** CPU time of a process's main thread so far, in microseconds (/proc/<pid>/schedstat, in ns). */
function mainThreadCpuMicros(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000
}

/** One closed-loop round on a hot authenticated read: session in Redis, accounts from PostgreSQL. */
async function round(service: RunningService, token: string): Promise<{ rps: number; cpu: number }> {
  const { url, pid } = service
  const cpuBefore = mainThreadCpuMicros(pid)
  const result = await autocannon({
    url: `${url}/v1/accounts`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
  })
  if (result.non2xx > 0 || result.errors > 0)
    log(`  warning: ${result.non2xx} non-2xx, ${result.errors} errors at ${url} (not counted)`)
  const cpu = (mainThreadCpuMicros(pid) - cpuBefore) / Math.max(1, result['2xx'])
  return { rps: result['2xx'] / seconds, cpu }
}

async function main() {
  const sink = await startSink()
  // Production's batching, protocol and export interval: the cost includes the exports.
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint }
  const variants: Variant[] = [
    { name: 'off', env: {}, rps: [], cpu: [] },
    // Metrics without tracing: what tracing is priced against (the metrics are not tracing's cost).
    { name: METRICS_ONLY, env: { ...otel, OTEL_TRACES_EXPORTER: 'none' }, rps: [], cpu: [] },
    // The service's default: 10% of new traces, at most TRACING_MAX_TRACES_PER_SECOND (10) a second.
    { name: 'on, default (10%, <= 10/s)', env: otel, rps: [], cpu: [] },
    // The ratio alone: what the default would cost without its cap, at this load.
    {
      name: 'on, 10% without the cap',
      env: { ...otel, TRACING_MAX_TRACES_PER_SECOND: '0' },
      rps: [],
      cpu: [],
    },
    // Extra variants to find where the cost is: `;`-separated sets of NAME=VALUE (spaces between, as
    // values such as the disabled-instrumentation list hold commas), e.g.
    // BENCH_TRACING_VARIANTS='OTEL_METRICS_EXPORTER=none;OTEL_NODE_DISABLED_INSTRUMENTATIONS=pg,ioredis OTEL_METRICS_EXPORTER=none'.
    ...(env.BENCH_TRACING_VARIANTS ?? '')
      .split(';')
      .filter(Boolean)
      .map((set) => ({
        name: `on + ${set}`.slice(0, 60),
        env: {
          ...otel,
          ...Object.fromEntries(
            set
              .trim()
              .split(/\s+/)
              .map((kv) => {
                const at = kv.indexOf('=')
                if (at < 1) throw new Error(`BENCH_TRACING_VARIANTS: "${kv}" is not NAME=VALUE`)
                return [kv.slice(0, at), kv.slice(at + 1)]
              }),
          ),
        },
        rps: [] as number[],
        cpu: [] as number[],
      })),
    ...(env.BENCH_TRACING_ALWAYS_ON === '0'
      ? []
      : [
          {
            name: 'on, every trace (always_on)',
            // Uncapped: the cap holds whatever the sampler.
            env: { ...otel, OTEL_TRACES_SAMPLER: 'always_on', TRACING_MAX_TRACES_PER_SECOND: '0' },
            rps: [],
            cpu: [],
          },
        ]),
  ]
  const targets = targetsFromEnv()
  try {
    for (const v of variants) {
      // Rate limits are per account and IP: the seeding logs in once per service.
      v.service = await startService(targets, { ...SERVICE_ENV, ...v.env }, () => {})
      const [user] = await seedUsers(v.service.url, v.service.databaseUrl, 1, v.name.replace(/\W+/g, '-'))
      v.token = user?.token
      log(`service "${v.name}" on ${v.service.url}`)
    }
    for (const v of variants) await round(v.service as RunningService, v.token as string) // warm-up (JIT, pools)
    for (let r = 1; r <= rounds; r++) {
      // Alternate the order each round so no variant always runs right after the same neighbour.
      const order = r % 2 === 1 ? variants : [...variants].reverse()
      for (const v of order) {
        const { rps, cpu } = await round(v.service as RunningService, v.token as string)
        v.rps.push(rps)
        v.cpu.push(cpu)
        log(`round ${r} ${v.name}: ${rps.toFixed(0)} req/s, ${cpu.toFixed(0)} µs CPU per request`)
      }
    }
    report(variants)
    const { requests, bytes } = sink.stats()
    log(`sink received ${requests} OTLP requests, ${(bytes / 1024).toFixed(0)} KiB`)
  } finally {
    await Promise.allSettled(variants.map((v) => v.service?.close()))
    await sink.close()
  }
}

/**
 * Per-round ratios (each variant against the "off" of the same round, measured seconds apart) and
 * their median: a round a neighbour's burst disturbed moves the spread, not the result.
 */
function report(variants: Variant[]) {
  const off = variants[0]?.rps ?? []
  // The machine may be shared: the ratio is only as good as the quiet it was measured in.
  log(
    `load average now ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (1, 5, 15 min)`,
  )
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
  const f = (x: number) => x.toFixed(2)
  log(`GET /v1/accounts, ${connections} connections, ${rounds} rounds x ${seconds} s per variant (2xx/s):`)
  for (const v of variants) {
    const rps = sorted(v.rps)
    const ratios = sorted(v.rps.map((x, i) => x / (off[i] as number)))
    const spread =
      v === variants[0]
        ? ''
        : `  ratio median ${f(percentile(ratios, 50))}  p25-p75 ${f(percentile(ratios, 25))}-${f(percentile(ratios, 75))}  min-max ${f(ratios[0] as number)}-${f(ratios.at(-1) as number)}`
    log(
      `  ${v.name.padEnd(30)} median ${percentile(rps, 50).toFixed(0).padStart(6)} req/s (${(rps[0] as number).toFixed(0)}-${(rps.at(-1) as number).toFixed(0)})${spread}`,
    )
  }
  const offCpu = off.length ? percentile(sorted(variants[0]?.cpu ?? []), 50) : 0
  log('main-thread CPU per answered request (the throughput a CPU-bound instance keeps = off / variant):')
  for (const v of variants) {
    const cpu = percentile(sorted(v.cpu), 50)
    const ratios = sorted((variants[0]?.cpu ?? []).map((x, i) => x / (v.cpu[i] as number)))
    const spread =
      v === variants[0]
        ? ''
        : `  ratio median ${f(percentile(ratios, 50))}  p25-p75 ${f(percentile(ratios, 25))}-${f(percentile(ratios, 75))}  (+${(cpu - offCpu).toFixed(0)} µs)`
    log(`  ${v.name.padEnd(30)} median ${cpu.toFixed(0).padStart(6)} µs${spread}`)
  }
  // Tracing's own cost: each tracing variant against metrics-only in the same round.
  const base = variants.find((v) => v.name === METRICS_ONLY)
  if (base) {
    log(`tracing's cost: each variant against "${METRICS_ONLY}" of the same round (req/s; CPU per request):`)
    for (const v of variants.filter((x) => x !== variants[0] && x !== base)) {
      const rps = sorted(v.rps.map((x, i) => x / (base.rps[i] as number)))
      const cpu = sorted(base.cpu.map((x, i) => x / (v.cpu[i] as number)))
      log(
        `  ${v.name.padEnd(30)} throughput ratio median ${f(percentile(rps, 50))} (p25-p75 ${f(percentile(rps, 25))}-${f(percentile(rps, 75))}); CPU ratio median ${f(percentile(cpu, 50))} (p25-p75 ${f(percentile(cpu, 25))}-${f(percentile(cpu, 75))})`,
      )
    }
  }
  log(
    `  per-round ratios: ${variants
      .slice(1)
      .map((v) => `${v.name}: ${v.rps.map((x, i) => f(x / (off[i] as number))).join(' ')}`)
      .join('; ')}`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
