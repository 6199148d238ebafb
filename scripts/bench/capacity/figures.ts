/**
 * The per-instance figures the capacity model needs, as measured by one benchmark run
 * (`out/bench/figures.json`); `scripts/bench/capacity/figures.json` is a committed measured default.
 */
import type { ProbeRow } from '../report.js'

/** What one instance of the service and this machine's PostgreSQL did in a benchmark run. */
export interface CapacityFigures {
  measuredAt: string
  source: string
  /** Cores of the benchmark machine; the service, its load generator and PostgreSQL shared them. */
  machineCores: number
  /** The service instance measured: cores it could use, pg connections per pool. */
  instance: { vcpu: number; poolMax: number }
  /** A typical authenticated read (GET /v1/me, /v1/accounts, /v1/transactions): closed-loop req/s and per-request costs. */
  read: { rps: number; dbRoundTrips: number; redisCommands: number }
  /** POST /v1/transactions: closed-loop req/s and per-request costs. */
  write: { rps: number; dbRoundTrips: number; writerRoundTrips: number; redisCommands: number }
  /** PostgreSQL on the same machine: pgbench TPC-B and select-only transactions per second. */
  database: { vcpu: number; tpcbTps: number; selectTps: number }
}

interface HotPathResult {
  tpcb: { tps: number; selectTps: number }
  service: { target: string; rps: number }[]
}

const READ_ROUTES = ['GET /v1/me', 'GET /v1/accounts', 'GET /v1/transactions']

/** Mean of positive numbers weighted equally by time: the rate of a mix that sends each in turn. */
export function harmonicMean(values: readonly number[]): number {
  const ok = values.filter((v) => v > 0)
  return ok.length ? ok.length / ok.reduce((n, v) => n + 1 / v, 0) : Number.NaN
}

/** Figures from a run's probe and hot-path results; undefined when the ratios part did not run. */
export function capacityFigures(run: {
  probe: ProbeRow[]
  hot: HotPathResult | undefined
  spike: unknown
  poolMax: number
  cores: number
}): CapacityFigures | undefined {
  if (!run.hot) return undefined
  const rps = (prefix: string) =>
    run.hot?.service.find((s) => s.target.startsWith(`service ${prefix}`))?.rps ?? 0
  const probe = (route: string) => run.probe.find((r) => r.route === route)
  const reads = READ_ROUTES.map(probe).filter((r): r is ProbeRow => r !== undefined)
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const write = probe('POST /v1/transactions')
  return {
    measuredAt: new Date().toISOString(),
    source: 'npm run bench',
    machineCores: run.cores,
    instance: { vcpu: run.cores, poolMax: run.poolMax },
    read: {
      rps: harmonicMean(READ_ROUTES.map(rps)),
      dbRoundTrips: mean(reads.map((r) => r.dbPerRequest)),
      redisCommands: mean(reads.map((r) => r.redisPerRequest)),
    },
    write: {
      rps: rps('POST /v1/transactions'),
      dbRoundTrips: write?.dbPerRequest ?? 1,
      writerRoundTrips: write?.writerPerRequest ?? 1,
      redisCommands: write?.redisPerRequest ?? 3,
    },
    database: { vcpu: run.cores, tpcbTps: run.hot.tpcb.tps, selectTps: run.hot.tpcb.selectTps },
  }
}
