import type { Context } from './context.js'
import { formatDuration } from './log.js'

/** Raised when a wait runs past its deadline. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout'
}

/** Polls `probe` every `ctx.pollMs` until it reports done; logs each change of detail, not every poll. */
export async function pollUntil<T>(
  ctx: Context,
  label: string,
  timeoutMs: number,
  probe: () => Promise<{ done: boolean; detail: string; value: T }>,
): Promise<T> {
  const started = ctx.clock.now().getTime()
  let last = ''
  for (;;) {
    const { done, detail, value } = await probe()
    if (detail !== last) {
      ctx.log.info(`   ${label}: ${detail}`)
      last = detail
    }
    if (done) return value
    const elapsed = ctx.clock.now().getTime() - started
    if (elapsed >= timeoutMs) {
      throw new WaitTimeout(`${label}: still "${detail}" after ${formatDuration(elapsed)}`)
    }
    await ctx.clock.sleep(ctx.pollMs)
  }
}
