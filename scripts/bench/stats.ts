/** Pure helpers for the benchmark's numbers: percentiles, rates and per-request ratios. */

/**
 * The p-th percentile (0 < p <= 100) by the nearest-rank method: the smallest sample such that
 * at least p% of samples are <= it. Always a measured value, never an interpolation.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`)
  const n = sortedAscending.length
  if (n === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * n)
  return sortedAscending[Math.min(n, Math.max(1, rank)) - 1] as number
}

/** Latency summary of one set of samples, in the samples' unit. */
export interface LatencySummary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

/** Summarizes latency samples (any order). */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const count = sorted.length
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    count,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: count ? (sorted[count - 1] as number) : Number.NaN,
    mean: count ? sum / count : Number.NaN,
  }
}

/** Requests per second over a wall-clock window. */
export function rate(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0
}

/** `part / whole`, or NaN when there is nothing to divide by (printed as "-"). */
export function perRequest(part: number, whole: number): number {
  return whole > 0 ? part / whole : Number.NaN
}

/** Splits a total rate over weighted routes, at least 1 per second each (autocannon's minimum). */
export function splitRate(total: number, weights: Record<string, number>): Record<string, number> {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0)
  return Object.fromEntries(
    Object.entries(weights).map(([name, w]) => [name, Math.max(1, Math.round((total * w) / sum))]),
  )
}
