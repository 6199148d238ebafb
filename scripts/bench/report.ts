/** Plain-text tables of the benchmark's results. */
import type { RouteResult } from './load.js'
import type { ProbeSnapshot, RouteCounts } from './probe-types.js'
import { perRequest } from './stats.js'

/** One load phase's results, the probe's counts over it, and the service's memory after it. */
export interface PhaseReport {
  phase: string
  seconds: number
  results: RouteResult[]
  counts: Record<string, RouteCounts>
  memory: { rssBytes: number; peakRssBytes: number; heapUsedBytes: number }
}

/** Per-route database round trips, connections and Redis commands per request. */
export interface ProbeRow {
  route: string
  requests: number
  dbPerRequest: number
  /** Of those, to the writer pool (the US primary, seen from the EU). */
  writerPerRequest: number
  dbAfterResponsePerRequest: number
  connectsPerRequest: number
  redisPerRequest: number
}

const num = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-')

/** Lays out rows as left-aligned first column and right-aligned numbers. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** The route key the probe uses for a route label (`GET /v1/search` -> the same, query dropped). */
function probeKey(route: string): string {
  return route.split('?')[0] as string
}

/** The probe's counts as per-request ratios, one row per route seen. */
export function probeRows(snapshot: ProbeSnapshot): ProbeRow[] {
  return Object.entries(snapshot.routes)
    .map(([route, c]) => ({
      route,
      requests: c.requests,
      dbPerRequest: perRequest(c.dbBeforeResponse, c.requests),
      writerPerRequest: perRequest(c.dbByTarget['blueprint-writer'] ?? 0, c.requests),
      dbAfterResponsePerRequest: perRequest(c.dbAfterResponse, c.requests),
      connectsPerRequest: perRequest(c.connects, c.requests),
      redisPerRequest: perRequest(c.redisCommands, c.requests),
    }))
    .sort((a, b) => a.route.localeCompare(b.route))
}

/** The sequential probe as a table. */
export function formatProbe(rows: ProbeRow[]): string {
  return table(
    [
      'route',
      'requests',
      'db round trips/req',
      'to writer/req',
      'db after response/req',
      'new db conns/req',
      'redis cmds/req',
    ],
    rows.map((r) => [
      r.route,
      String(r.requests),
      num(r.dbPerRequest, 2),
      num(r.writerPerRequest, 2),
      num(r.dbAfterResponsePerRequest, 2),
      num(r.connectsPerRequest, 2),
      num(r.redisPerRequest, 2),
    ]),
  )
}

/** The load phases as one table; rows whose p95 exceeds the target are marked, nothing fails. */
export function formatTable(phases: PhaseReport[], p95TargetMs: number): string {
  const rows = phases.flatMap((p) =>
    p.results.map((r) => {
      const counts = p.counts[probeKey(r.route)]
      return [
        p.phase,
        r.route,
        String(r.targetRps),
        String(r.latencyMs.count),
        String(r.errors),
        String(Math.max(0, (counts?.requests ?? 0) - r.latencyMs.count - r.timeouts)),
        num(r.rps),
        num(r.latencyMs.p50),
        num(r.latencyMs.p95),
        num(r.latencyMs.p99),
        num(r.latencyMs.max),
        num(perRequest(counts?.dbBeforeResponse ?? 0, counts?.requests ?? 0), 2),
        errorDetail(r),
        r.latencyMs.p95 > p95TargetMs ? '!' : '',
      ]
    }),
  )
  return table(
    [
      'phase',
      'route',
      'target rps',
      'answered',
      'errors',
      'unanswered',
      'rps',
      'p50',
      'p95',
      'p99',
      'max',
      'db rt/req',
      'error kinds',
      '',
    ],
    rows,
  )
}

/** `503x11 timeoutx2`: what the errors of a row were. */
export function errorDetail(r: Pick<RouteResult, 'statusCodes' | 'socketErrors' | 'timeouts'>): string {
  const parts = Object.entries(r.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${code}x${n}`)
  if (r.timeouts) parts.push(`timeoutx${r.timeouts}`)
  if (r.socketErrors) parts.push(`socketx${r.socketErrors}`)
  return parts.join(' ')
}
