/**
 * Bounds concurrent password hashing. Each hash takes one libuv thread and a core for tens of
 * milliseconds; unbounded, a login storm takes every core and every other route waits behind it.
 * With the bound, at most `concurrency` hashes run, up to `queueMax` wait in arrival order, and
 * the rest (or any that waited longer than `queueTimeoutMs`) are shed with 503 + Retry-After.
 */
import { HttpError } from '../../platform/errors.js'

/** How much hashing may run and wait at once. */
export interface HashingLimits {
  /** Hashes running at once (one core each). */
  concurrency: number
  /** Hashes waiting for a slot; beyond it a request is shed at once. 0: never wait. */
  queueMax: number
  /** A hash that waited this long is shed instead of started (its caller has waited long enough). */
  queueTimeoutMs: number
}

/** Why a hash was shed: the queue was full, or it waited past `queueTimeoutMs`. */
export type ShedReason = 'queue-full' | 'queue-timeout'

/** 503 for a login that could not get a hashing slot; the client retries after Retry-After. */
export class HashingOverloadedError extends HttpError {
  constructor(
    readonly reason: ShedReason,
    retryAfterSeconds: number,
  ) {
    super(503, 'OVERLOADED', 'Too many sign-ins at once, retry shortly', undefined, {
      'retry-after': String(retryAfterSeconds),
    })
    this.name = 'HashingOverloadedError'
  }
}

interface Waiter {
  start: () => void
  timer: NodeJS.Timeout
}

/** A FIFO semaphore for hashing with a bounded queue and a wait limit. */
export class HashingLimiter {
  /** Called once per shed hash (metrics: "shed logins"); must not throw. */
  onShed: ((reason: ShedReason) => void) | undefined
  private running = 0
  private readonly waiting: Waiter[] = []
  // Moving average of one hash's duration, for Retry-After; starts at argon2id's cost here.
  private averageMs = 50

  constructor(readonly limits: HashingLimits) {}

  /** Hashes waiting for a slot now (metrics: "login hashing queue"). */
  get queueDepth(): number {
    return this.waiting.length
  }

  /** Hashes running now. */
  get active(): number {
    return this.running
  }

  /** Runs `task` when a slot is free; rejects with HashingOverloadedError when it is shed. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.concurrency) await this.waitForSlot()
    else this.running++
    const started = performance.now()
    try {
      return await task()
    } finally {
      this.averageMs = 0.9 * this.averageMs + 0.1 * (performance.now() - started)
      this.release()
    }
  }

  private waitForSlot(): Promise<void> {
    if (this.waiting.length >= this.limits.queueMax) return Promise.reject(this.shed('queue-full'))
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: resolve,
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1)
          reject(this.shed('queue-timeout'))
        }, this.limits.queueTimeoutMs),
      }
      this.waiting.push(waiter)
    })
  }

  // The slot passes straight to the next waiter, so `running` never drops below the bound while
  // work waits and a newcomer cannot overtake the queue.
  private release(): void {
    const next = this.waiting.shift()
    if (next) {
      clearTimeout(next.timer)
      next.start()
    } else {
      this.running--
    }
  }

  private shed(reason: ShedReason): HashingOverloadedError {
    try {
      this.onShed?.(reason)
    } catch {}
    // Roughly when the queue ahead will have drained; at least a second (Retry-After's unit).
    const drainMs = ((this.waiting.length + 1) / this.limits.concurrency) * this.averageMs
    const drainSeconds = Math.ceil(drainMs / 1000)
    return new HashingOverloadedError(reason, Math.max(1, drainSeconds))
  }
}
