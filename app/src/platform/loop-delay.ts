/**
 * Event-loop delay as the load shedder judges it: per sample, how late the loop's turn was at an
 * average moment of the sample, and overload only while it stays over the limit for `samples`
 * samples in a row.
 *
 * Weighted by time, not averaged per turn: each turn's lateness counts for as long as the turn
 * lasted. A mean per firing let a loop stalled most of the time pass as healthy when its long
 * turns had short ones between them (three on-time firings and one 120 ms late averaged 30 ms,
 * while a request arriving at a random moment most likely met the 120 ms turn).
 *
 * One stall (a major garbage collection, a cold code path on a fresh instance, the process
 * descheduled on a busy host) is over by the time it is measured, and it lands in one sample: the
 * requests that waited through it are best served now. Judged on one sample, as
 * `@fastify/under-pressure` does, a single stall refused every request of the next whole sample
 * (503s in the chaos run's rolling deploy, at a tenth of capacity). Overload keeps every turn of
 * the loop long, so it fills consecutive samples.
 *
 * Measured with a timer of our own rather than `monitorEventLoopDelay`: after the histogram's
 * `reset()` its first tick only restarts its clock, so a block that began before that tick is never
 * recorded (a 200 ms block right after a reset left the histogram empty: count 0, mean NaN).
 */

/** What counts as a lagging loop. */
export interface LoopDelayOptions {
  /** Time-weighted delay over one sample above which the sample counts as over. */
  limitMs: number
  /** Length of one sample. */
  sampleIntervalMs: number
  /** Consecutive samples over the limit that make overload. @default 2 */
  samples?: number
  /** Don't start the timer: a test feeds the turns through `turn()`. */
  manual?: boolean
}

/** The timer's period; a turn's delay is what it took beyond this. */
export const LOOP_RESOLUTION_MS = 10

/** Samples the loop's delay on an unref'd timer until `close()`. */
export class LoopDelay {
  private readonly needed: number
  private readonly timer: NodeJS.Timeout | undefined
  private previous: number
  private windowStart: number
  private weighted = 0
  private streak = 0
  private last = 0
  private peak = 0

  constructor(
    private readonly options: LoopDelayOptions,
    now = performance.now(),
  ) {
    this.needed = Math.max(1, options.samples ?? 2)
    this.previous = now
    this.windowStart = now
    // One timer re-armed after each firing: a hundred new timers a second would be garbage.
    this.timer = options.manual
      ? undefined
      : setTimeout(() => {
          this.turn()
          this.timer?.refresh()
        }, LOOP_RESOLUTION_MS).unref()
  }

  /** Time-weighted delay of the last sample, in ms. */
  get delayMs(): number {
    return this.last
  }

  /** The highest sample's delay since the last call, in ms (what a periodic log line reports). */
  takePeakMs(): number {
    const peak = this.peak
    this.peak = 0
    return peak
  }

  /** True while the last `samples` samples were all over the limit. */
  get overloaded(): boolean {
    return this.streak >= this.needed
  }

  /** One firing of the timer at `now`; closes the sample once it is `sampleIntervalMs` long. */
  turn(now = performance.now()): void {
    const lasted = now - this.previous
    this.weighted += Math.max(0, lasted - LOOP_RESOLUTION_MS) * lasted
    this.previous = now
    const elapsed = now - this.windowStart
    if (elapsed < this.options.sampleIntervalMs) return
    this.last = this.weighted / elapsed
    this.peak = Math.max(this.peak, this.last)
    this.streak = this.last > this.options.limitMs ? this.streak + 1 : 0
    this.weighted = 0
    this.windowStart = now
  }

  /** Stops sampling. */
  close(): void {
    clearTimeout(this.timer)
  }
}
