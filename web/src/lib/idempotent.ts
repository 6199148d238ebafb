import { isRetryable } from './errors.js'

/** A fresh key for one user intent (one press of "Send"); every retry of that intent reuses it. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID()
}

/** How retries of one intent are spaced. */
export interface RetryOptions {
  attempts?: number
  baseDelayMs?: number
  sleep?: (ms: number) => Promise<void>
}

/**
 * Runs `send(key)` with one idempotency key, retrying while the failure may be transient: the
 * service replays the first outcome for a repeated key, so a retry after a lost answer cannot move
 * money twice. Errors the service answered (400, 409, 422) are final and thrown at once.
 */
export async function sendOnce<T>(send: (key: string) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 4, baseDelayMs = 400, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = options
  const key = newIdempotencyKey()
  for (let attempt = 1; ; attempt++) {
    try {
      return await send(key)
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err
      // Exponential backoff with jitter, so many clients coming back do not arrive together.
      await sleep(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2))
    }
  }
}
