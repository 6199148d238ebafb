/**
 * `npm run bench:tracing`: what OpenTelemetry costs in throughput, measured in one run. Starts the
 * service side by side (telemetry off; on at the default sampling; optionally on with every
 * trace recorded), each exporting to a local OTLP sink, then drives the same closed-loop
 * load at each in turn, alternating rounds so that the shared machine's noise hits all alike.
 * Prints requests per second and the ratio to "off"; never fails on the numbers.
 *
 * BENCH_TRACING_SECONDS (per round, default 5), BENCH_TRACING_ROUNDS (default 6),
 * BENCH_TRACING_CONNECTIONS (default 20), BENCH_TRACING_ALWAYS_ON=1 adds the 100% variant,
 * BENCH_TRACING_VARIANTS adds variants with more environment (see below).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import autocannon from 'autocannon'
import { type RunningService, startService, targetsFromEnv } from './service.js'
import { seedUsers } from './workload.js'

const env = process.env
const int = (name: string, fallback: number) =>
  env[name] && /^\d+$/.test(env[name]) ? Number(env[name]) : fallback
const seconds = int('BENCH_TRACING_SECONDS', 5)
const rounds = int('BENCH_TRACING_ROUNDS', 6)
const connections = int('BENCH_TRACING_CONNECTIONS', 20)
const log = (msg: string) => console.log(`[bench:tracing ${new Date().toISOString().slice(11, 19)}] ${msg}`)

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
}

/** One closed-loop round on a hot authenticated read: session in Redis, accounts from PostgreSQL. */
async function round(url: string, token: string): Promise<number> {
  const result = await autocannon({
    url: `${url}/v1/accounts`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
  })
  if (result.non2xx > 0 || result.errors > 0)
    log(`  warning: ${result.non2xx} non-2xx, ${result.errors} errors at ${url}`)
  return result.requests.average
}

async function main() {
  const sink = await startSink()
  // Production's batching, protocol and export interval: the cost includes the exports.
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint }
  const variants: Variant[] = [
    { name: 'off', env: {}, rps: [] },
    { name: 'on, default sampling (10%)', env: otel, rps: [] },
    // Extra variants to find where the cost is: `;`-separated sets of NAME=VALUE (`,` between),
    // e.g. BENCH_TRACING_VARIANTS='OTEL_METRICS_EXPORTER=none;OTEL_NODE_DISABLED_INSTRUMENTATIONS=prisma'.
    ...(env.BENCH_TRACING_VARIANTS ?? '')
      .split(';')
      .filter(Boolean)
      .map((set) => ({
        name: `on + ${set}`.slice(0, 60),
        env: {
          ...otel,
          ...Object.fromEntries(set.split(',').map((kv) => kv.split('=') as [string, string])),
        },
        rps: [] as number[],
      })),
    ...(env.BENCH_TRACING_ALWAYS_ON !== '1'
      ? []
      : [
          {
            name: 'on, every trace (always_on)',
            env: { ...otel, OTEL_TRACES_SAMPLER: 'always_on' },
            rps: [],
          },
        ]),
  ]
  const targets = targetsFromEnv()
  try {
    for (const v of variants) {
      // Rate limits are per account and IP: the seeding logs in once per service.
      v.service = await startService(targets, { ...v.env }, () => {})
      const [user] = await seedUsers(v.service.url, v.service.databaseUrl, 1, v.name.replace(/\W+/g, '-'))
      v.token = user?.token
      log(`service "${v.name}" on ${v.service.url}`)
    }
    for (const v of variants) await round(v.service?.url as string, v.token as string) // warm-up (JIT, pools)
    for (let r = 1; r <= rounds; r++) {
      // Alternate the order each round so no variant always runs right after the same neighbour.
      const order = r % 2 === 1 ? variants : [...variants].reverse()
      for (const v of order) {
        const rps = await round(v.service?.url as string, v.token as string)
        v.rps.push(rps)
        log(`round ${r} ${v.name}: ${rps.toFixed(0)} req/s`)
      }
    }
    // Medians: one round disturbed by a neighbour's burst must not decide the result. The ratio
    // is also taken round by round (each "on" against the "off" measured next to it).
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b)
      const mid = Math.floor(sorted.length / 2)
      return sorted.length % 2
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    }
    const offRps = variants[0]?.rps ?? []
    const off = median(offRps)
    log(`GET /v1/accounts, ${connections} connections, ${rounds} x ${seconds} s per variant:`)
    for (const v of variants) {
      const m = median(v.rps)
      const paired = median(v.rps.map((x, i) => x / (offRps[i] as number)))
      log(
        `  ${v.name.padEnd(30)} median ${m.toFixed(0).padStart(6)} req/s  ratio ${(m / off).toFixed(3)}  per-round ratio ${paired.toFixed(3)}`,
      )
    }
    const { requests, bytes } = sink.stats()
    log(`sink received ${requests} OTLP requests, ${(bytes / 1024).toFixed(0)} KiB`)
  } finally {
    await Promise.allSettled(variants.map((v) => v.service?.close()))
    await sink.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
