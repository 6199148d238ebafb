/**
 * The ratio and spike parts of `npm run bench`: anchors and service routes in closed loop (same
 * run, same machine, each route right after its anchor), then the route mix's capacity and an open-loop spike
 * profile against it.
 */
import { type Anchor, pgbenchTpcb, startAnchor } from './anchors.js'
import { closedLoop } from './closed-loop.js'
import { openLoop } from './open-loop.js'
import { cpuPerAnswer } from './process-cpu.js'
import { type AnchorRates, formatRatios, ratioRows } from './ratios.js'
import type { RunningService } from './service.js'
import { secondsToZeroShed, spikeProfile, weightedPick } from './spike.js'
import { summarize } from './stats.js'
import { type BenchRequest, type BenchUser, type RouteSpec, transactionRequest } from './workload.js'

const bearer = (u: BenchUser) => ({ authorization: `Bearer ${u.token}` })
const pick = <T>(items: readonly T[], seq: number) => items[seq % items.length] as T

/** The service routes of the ratio table, each with the anchor it is judged by and its goal. */
export function ratioTargets(users: readonly BenchUser[]) {
  const get =
    (path: string) =>
    (seq: number): BenchRequest => ({
      method: 'GET',
      path,
      headers: bearer(pick(users, seq)),
    })
  return [
    { target: 'service GET /health/live', of: 'bare' as const, build: get('/health/live') },
    { target: 'service GET /v1/me (bearer, cached)', of: 'bare' as const, goal: 0.5, build: get('/v1/me') },
    { target: 'service GET /v1/accounts', of: 'pg' as const, goal: 0.6, build: get('/v1/accounts') },
    {
      target: 'service GET /v1/transactions?limit=20',
      of: 'pg' as const,
      goal: 0.4,
      build: get('/v1/transactions?limit=20'),
    },
    {
      target: 'service POST /v1/transactions (transfer)',
      of: 'tpcb' as const,
      goal: 0.7,
      build: (seq: number) => transactionRequest(users, seq * 2 + 1),
    },
  ]
}

/** Options of the hot-path parts. */
export interface HotPathOptions {
  connections: number
  closedSeconds: number
  spike: {
    baseShare: number
    factor: number
    baseSeconds: number
    spikeSeconds: number
    afterSeconds: number
    /** Use this capacity instead of measuring it (0: measure), so runs with other settings get the same spike. */
    capacityRps: number
  }
}

/**
 * Measures anchors and service routes in closed loop; prints and returns the ratio table. The
 * anchor servers stay up throughout, and each service route runs right after a fresh measurement
 * of its own anchor (TPC-B right before the transfer): the machine is shared, its speed drifts
 * within a run, and a ratio of two runs seconds apart moves far less than one of runs a minute apart.
 */
export async function measureRatios(
  svc: RunningService,
  users: readonly BenchUser[],
  redisUrl: string,
  adminUrl: string,
  options: HotPathOptions,
  log: (msg: string) => void,
) {
  const loop = { connections: options.connections, seconds: options.closedSeconds }
  const anchorRps: Partial<AnchorRates> = {}
  const anchorCpu: Partial<Record<keyof AnchorRates, number>> = {}
  const anchors: Partial<Record<'bare' | 'redis' | 'pg', Anchor>> = {}
  const measureAnchor = async (kind: 'bare' | 'redis' | 'pg') => {
    const anchor = anchors[kind] as Anchor
    const build = (): BenchRequest => ({ method: 'GET', path: '/item', headers: {} })
    await closedLoop(anchor.url, build, { ...loop, seconds: 1 })
    const r = await cpuPerAnswer(anchor.pid, () => closedLoop(anchor.url, build, loop))
    log(
      `anchor ${kind}: ${r.rps.toFixed(0)} req/s (${r.non2xx} non-2xx, ${r.errors} errors, ${r.cpuUsPerRequest.toFixed(0)} µs CPU per answer)`,
    )
    return r
  }
  const tpcbOf = async () => {
    const tpcb = await pgbenchTpcb(adminUrl, { clients: 10, seconds: options.closedSeconds, scale: 10 })
    log(
      `anchor pgbench TPC-B: ${tpcb.tps.toFixed(0)} tx/s, select-only ${tpcb.selectTps.toFixed(0)} tx/s (10 clients, scale 10)`,
    )
    return tpcb
  }

  const service: {
    target: string
    rps: number
    of: keyof AnchorRates
    anchorRps: number
    goal?: number
    p99: number
    non2xx: number
    cpuUsPerRequest: number
  }[] = []
  let tpcb: Awaited<ReturnType<typeof tpcbOf>> | undefined
  try {
    for (const kind of ['bare', 'redis', 'pg'] as const) {
      anchors[kind] = await startAnchor(kind, {
        databaseUrl: svc.databaseUrl,
        redisUrl,
        redisPrefix: svc.redisPrefix,
      })
      const r = await measureAnchor(kind)
      anchorRps[kind] = r.rps
      anchorCpu[kind] = r.cpuUsPerRequest
    }
    for (const t of ratioTargets(users)) {
      let before: number
      if (t.of === 'tpcb') {
        tpcb = await tpcbOf()
        before = tpcb.tps
      } else before = (await measureAnchor(t.of)).rps
      await closedLoop(svc.url, t.build, { ...loop, seconds: 1 })
      const r = await cpuPerAnswer(svc.pid, () => closedLoop(svc.url, t.build, loop))
      service.push({
        target: t.target,
        rps: r.rps,
        of: t.of,
        anchorRps: before,
        goal: t.goal,
        p99: r.p99,
        non2xx: r.non2xx,
        cpuUsPerRequest: r.cpuUsPerRequest,
      })
      const codes = Object.entries(r.statuses)
        .map(([c, n]) => `${c}x${n}`)
        .join(' ')
      log(
        `${t.target}: ${r.rps.toFixed(0)} req/s (answers ${codes}, ${r.errors} errors, p99 ${r.p99} ms, ${r.cpuUsPerRequest.toFixed(0)} µs CPU per answer)`,
      )
    }
  } finally {
    await Promise.all(Object.values(anchors).map((a) => a.close()))
  }
  if (!tpcb) throw new Error('no service target is judged against TPC-B')
  anchorRps.tpcb = tpcb.tps
  const rows = ratioRows(anchorRps as AnchorRates, service)
  console.log(
    `\nHot paths, closed loop (${options.connections} connections, ${options.closedSeconds} s each, in this run; each service ratio is against the run of its anchor just before it):`,
  )
  console.log(formatRatios(rows))
  // The ratios move with whatever else runs on the cores; what each answer cost its server moves less.
  const us = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(0) : '-')
  console.log(
    `CPU per answer (µs, the server process's user + system time over its run): bare ${us(anchorCpu.bare)}, Redis anchor ${us(anchorCpu.redis)}, pg anchor ${us(anchorCpu.pg)}; ${service.map((s) => `${s.target.replace(/^service /, '')} ${us(s.cpuUsPerRequest)}`).join(', ')}`,
  )
  return { anchors: anchorRps as AnchorRates, anchorCpuUsPerRequest: anchorCpu, tpcb, service, rows }
}

/** Measures the mix's closed-loop capacity, then runs the open-loop spike profile against it. */
export async function runSpike(
  svc: RunningService,
  users: readonly BenchUser[],
  routes: readonly RouteSpec[],
  options: HotPathOptions,
  log: (msg: string) => void,
) {
  const next = (seq: number) => {
    const route = weightedPick(routes, seq)
    return { route: route.name, request: route.build(users, seq) }
  }
  const given = options.spike.capacityRps
  const capacity = given
    ? { rps: given, non2xx: 0 }
    : await closedLoop(svc.url, (seq) => next(seq).request, {
        connections: options.connections,
        seconds: options.closedSeconds,
      })
  log(
    given
      ? `route mix capacity: ${given} req/s as given (BENCH_SPIKE_CAPACITY_RPS)`
      : `route mix capacity (closed loop): ${capacity.rps.toFixed(0)} req/s (${capacity.non2xx} non-2xx)`,
  )
  // The service's memory peak is kept by the kernel (VmHWM); the spike's own is read after it.
  const phases = spikeProfile(capacity.rps, options.spike)
  log(`open-loop spike: ${phases.map((p) => `${p.name} ${p.rps} req/s for ${p.seconds}s`).join(', ')}`)
  const result = await openLoop(svc.url, phases, next)
  const spikeEndMs = (options.spike.baseSeconds + options.spike.spikeSeconds) * 1000
  const recovery = secondsToZeroShed(result.samples, spikeEndMs)
  const byRoute = Object.fromEntries(
    routes.map((r) => {
      const mine = result.samples.filter((s) => s.route === r.name && s.phase === 1)
      const shed = mine.filter((s) => s.status === 503).length
      return [
        r.name,
        {
          sent: mine.length,
          shed,
          acceptedMs: summarize(
            mine.filter((s) => s.status !== 503 && s.status !== 0).map((s) => s.latencyMs),
          ),
        },
      ]
    }),
  )
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-')
  console.log(`\nOpen-loop spike (latency from the intended send time; accepted = answered, not 503):`)
  console.log('phase       target rps  sent    accepted  503     503 share  failed  p50   p95   p99')
  for (const p of result.phases) {
    console.log(
      `${p.name.padEnd(11)} ${String(p.targetRps).padStart(10)}  ${String(p.sent).padEnd(7)} ${String(p.accepted).padEnd(9)} ${String(p.shed).padEnd(7)} ${`${(p.shedShare * 100).toFixed(1)}%`.padEnd(10)} ${String(p.failed).padEnd(7)} ${fmt(p.acceptedMs.p50).padEnd(5)} ${fmt(p.acceptedMs.p95).padEnd(5)} ${fmt(p.acceptedMs.p99)}${p.acceptedMs.p95 > 200 ? ' !' : ''}`,
    )
  }
  console.log(
    `spike, per route: ${Object.entries(byRoute)
      .map(([r, v]) => `${r} ${v.shed}/${v.sent} shed, p95 ${fmt(v.acceptedMs.p95)} ms`)
      .join('; ')}`,
  )
  console.log(
    `back to zero 503s ${recovery.toFixed(1)} s after the spike ended (goal <= 5 s); the client fell behind its schedule by at most ${result.clientLagMs.toFixed(0)} ms`,
  )
  return {
    capacity,
    phases: result.phases,
    byRoute,
    secondsToZeroShed: recovery,
    clientLagMs: result.clientLagMs,
  }
}
