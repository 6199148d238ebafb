import type { Clock } from './clock.js'
import { describeError } from './errors.js'

// Error names AWS uses for request-rate limits across RDS/CloudWatch (Query protocol: "Throttling"),
// SSM ("ThrottlingException"), and Route 53 (also "PriorRequestNotComplete" while a change is pending).
// Only these are retried: a throttled request was rejected before it did anything, so a retry is safe
// even for PromoteReadReplica, which must never be blindly repeated after a server-side fault.
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'PriorRequestNotComplete',
])

/** Bounded exponential backoff for throttled AWS calls. */
export interface RetryPolicy {
  /** Total attempts including the first. @default 5 */
  attempts: number
  /** First delay; doubles each retry. @default 1000 */
  baseDelayMs: number
  /** Cap on one delay. @default 20000 */
  maxDelayMs: number
}

/** Defaults: five attempts spread over about fifteen seconds, well inside AWS's token-bucket refill. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 20000 }

/** True when AWS rejected the call for rate reasons. */
export function isThrottling(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false
  const { name, Code, code } = error as { name?: string; Code?: string; code?: string }
  return [name, Code, code].some((value) => value !== undefined && THROTTLING.has(value))
}

/** Runs `call`, retrying throttling errors with backoff; other errors and the last throttle propagate. */
export async function withRetry<T>(
  label: string,
  call: () => Promise<T>,
  clock: Clock,
  log: (line: string) => void,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      if (!isThrottling(error) || attempt >= policy.attempts) {
        if (isThrottling(error)) log(`${label}: still throttled after ${attempt} attempts, giving up`)
        throw error
      }
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
      log(
        `${label}: throttled (${describeError(error)}), retry ${attempt}/${policy.attempts - 1} in ${delay} ms`,
      )
      await clock.sleep(delay)
    }
  }
}
