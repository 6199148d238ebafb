/**
 * An adaptive limit on requests in flight, the load shedder's leading signal. Event-loop delay
 * and pool queues show overload only once requests already wait; a cap on what is in flight
 * refuses the excess before it waits at all, and the cap follows the latency the admitted
 * requests actually see (AIMD: cut in proportion when a window's p90 is over the target, grow
 * slowly while the cap is what holds traffic back and latency is well under it). The cap settles
 * near "what this instance can serve within the target" on a quiet or a loaded machine alike.
 */

/** How the limit adapts. */
export interface ConcurrencyLimitOptions {
  /** The limit before any latency was observed. */
  initial: number
  /** It never falls below this (a few requests always run, so latency keeps being measured). */
  min: number
  /** It never grows above this. */
  max: number
  /** p90 in-process latency the limit steers towards. */
  targetMs: number
  /** Latencies are judged per window of this length. */
  windowMs: number
  /** A window is judged only once it holds this many latencies (a few cold requests decide nothing). @default 20 */
  minSamples?: number
  /** No cut in this long after the first release: a new instance's first requests are cold. @default 0 */
  warmupMs?: number
}

// Below this share of the target the limit may grow; between it and the target it holds still,
// so it does not oscillate around the target.
const GROW_BELOW = 0.8
// A cut takes at most half and at least a tenth of the limit.
const MAX_CUT = 0.5
const MIN_CUT = 0.9

/** The limit and the requests it admitted; `release` reports each one's latency. */
export class ConcurrencyLimit {
  private current: number
  private active = 0
  private samples: number[] = []
  private windowStart: number
  // The limit held traffic back in this window: only then is growing it meaningful.
  private saturated = false
  private warmUntil: number | undefined

  constructor(
    private readonly options: ConcurrencyLimitOptions,
    now = performance.now(),
  ) {
    this.current = Math.min(options.max, Math.max(options.min, options.initial))
    this.windowStart = now
  }

  /** The current limit (whole requests). */
  get limit(): number {
    return Math.floor(this.current)
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.active
  }

  /** True while a new request would be refused. */
  get full(): boolean {
    return this.active >= this.limit
  }

  /** Admits one request (true) or refuses it because the limit is reached (false). */
  tryAcquire(): boolean {
    if (this.active >= this.limit) {
      this.saturated = true
      return false
    }
    this.active++
    if (this.active >= this.limit) this.saturated = true
    return true
  }

  /** Releases an admitted request that took `latencyMs`; adapts the limit at a window's end. */
  release(latencyMs: number, now = performance.now()): void {
    this.active = Math.max(0, this.active - 1)
    this.samples.push(latencyMs)
    this.warmUntil ??= now + (this.options.warmupMs ?? 0)
    // A short window keeps collecting: a cut on three cold requests took a fresh instance to half
    // its limit before any overload (and shed during rolling deploys).
    if (
      now - this.windowStart >= this.options.windowMs &&
      this.samples.length >= (this.options.minSamples ?? 20)
    ) {
      this.adapt(now)
    }
  }

  private adapt(now: number): void {
    const { min, max, targetMs } = this.options
    const sorted = this.samples.sort((a, b) => a - b)
    // p90: a lower percentile reacted too late to protect accepted requests. Routes slow by design
    // would hold p90 over the target at any load and pin the limit at its floor on an idle
    // instance, so they stay out of it: the login (its own hashing limiter) is `ownLimiter`.
    const typical = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))] as number
    if (typical > targetMs && now >= (this.warmUntil ?? 0)) {
      // Proportional: twice the target roughly halves the limit.
      const factor = Math.min(MIN_CUT, Math.max(MAX_CUT, targetMs / typical))
      this.current = Math.max(min, this.current * factor)
    } else if (this.saturated && typical < targetMs * GROW_BELOW) {
      this.current = Math.min(max, this.current + Math.max(1, this.current * 0.1))
    }
    this.samples = []
    this.saturated = this.active >= this.limit
    this.windowStart = now
  }
}
