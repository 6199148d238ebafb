import type { Context } from './context.js'
import { describeError } from './errors.js'
import { formatDuration } from './log.js'

/** Raised when a wait runs past its deadline. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout'
}

// A wait runs for minutes while AWS is already doing the work; one failed describe (a network blip,
// a 5xx) is not a reason to abandon the runbook halfway, but a run of them is.
const MAX_CONSECUTIVE_PROBE_ERRORS = 3

/** Polls `probe` every `ctx.pollMs` until it reports done; logs each change of detail, not every poll. */
export async function pollUntil<T>(
  ctx: Context,
  label: string,
  timeoutMs: number,
  probe: () => Promise<{ done: boolean; detail: string; value: T }>,
): Promise<T> {
  const started = ctx.clock.now().getTime()
  let last = ''
  let errors = 0
  for (;;) {
    try {
      const { done, detail, value } = await probe()
      errors = 0
      if (detail !== last) {
        ctx.log.info(`   ${label}: ${detail}`)
        last = detail
      }
      if (done) return value
    } catch (error) {
      errors++
      if (errors >= MAX_CONSECUTIVE_PROBE_ERRORS) throw error
      ctx.log.warn(
        `${label}: poll failed (${describeError(error)}), ${errors}/${MAX_CONSECUTIVE_PROBE_ERRORS - 1} tolerated`,
      )
    }
    const elapsed = ctx.clock.now().getTime() - started
    if (elapsed >= timeoutMs) {
      throw new WaitTimeout(`${label}: still "${last}" after ${formatDuration(elapsed)}`)
    }
    await ctx.clock.sleep(ctx.pollMs)
  }
}
