/** Pure helpers of the open-loop spike profile: the phases, per-phase tallies, recovery time. */
import { type LatencySummary, summarize } from './stats.js'

/** What one open-loop phase saw. */
export interface PhaseTally {
  name: string
  targetRps: number
  seconds: number
  sent: number
  /** Answered with anything but 503. */
  accepted: number
  /** Answered 503 (shed). */
  shed: number
  /** 5xx other than 503, socket errors and timeouts: what must never happen. */
  failed: number
  shedShare: number
  /** Latency of the accepted answers, from their intended send time. */
  acceptedMs: LatencySummary
}

/** Spike profile: base at `baseShare` of capacity, `factor` x base for `spikeSeconds`, base again. */
export function spikeProfile(
  capacityRps: number,
  options: {
    baseShare: number
    factor: number
    baseSeconds: number
    spikeSeconds: number
    afterSeconds: number
  },
): { name: string; rps: number; seconds: number }[] {
  const base = Math.max(1, Math.round(capacityRps * options.baseShare))
  return [
    { name: 'before', rps: base, seconds: options.baseSeconds },
    { name: `spike x${options.factor}`, rps: base * options.factor, seconds: options.spikeSeconds },
    { name: 'after', rps: base, seconds: options.afterSeconds },
  ]
}

/** Tallies one phase's samples (status 0 is a socket error or timeout). */
export function tallyPhase(
  phase: { name: string; rps: number; seconds: number },
  samples: readonly { status: number; latencyMs: number }[],
): PhaseTally {
  const accepted = samples.filter((s) => s.status !== 503 && s.status !== 0)
  const shed = samples.filter((s) => s.status === 503).length
  const failed = samples.filter((s) => s.status === 0 || (s.status >= 500 && s.status !== 503)).length
  return {
    name: phase.name,
    targetRps: phase.rps,
    seconds: phase.seconds,
    sent: samples.length,
    accepted: accepted.length,
    shed,
    failed,
    shedShare: samples.length ? shed / samples.length : 0,
    acceptedMs: summarize(accepted.map((s) => s.latencyMs)),
  }
}

/**
 * Seconds from `fromMs` (the spike's end) to the intended send time of the last request answered
 * 503 at or after it: how long shedding lasted once the load was back to normal. 0 if none.
 */
export function secondsToZeroShed(
  samples: readonly { intendedMs: number; status: number }[],
  fromMs: number,
): number {
  let last = fromMs
  for (const s of samples) if (s.status === 503 && s.intendedMs >= fromMs) last = Math.max(last, s.intendedMs)
  return (last - fromMs) / 1000
}

/** Picks route `seq` of a weighted mix deterministically: each cycle of sum(weights) has them in proportion. */
export function weightedPick<T extends { weight: number }>(items: readonly T[], seq: number): T {
  const total = items.reduce((n, i) => n + i.weight, 0)
  let slot = seq % total
  for (const item of items) {
    if (slot < item.weight) return item
    slot -= item.weight
  }
  return items[items.length - 1] as T
}
