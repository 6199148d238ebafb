import type { DrClients } from './aws.js'
import type { Clock } from './clock.js'
import type { Output, StepLog } from './log.js'
import type { RetryPolicy } from './retry.js'
import { withRetry } from './retry.js'
import type { Topology } from './topology.js'

/** What every subcommand receives: the topology, clients, time and output, all injectable. */
export interface Context {
  topology: Topology
  clients: DrClients
  clock: Clock
  output: Output
  log: StepLog
  retry: RetryPolicy
  /** Poll interval while waiting on RDS/Route 53. @default 15000 */
  pollMs: number
}

/** Calls AWS with the context's throttling retry, logging each retry with a timestamp. */
export function aws<T>(ctx: Context, label: string, call: () => Promise<T>): Promise<T> {
  return withRetry(label, call, ctx.clock, (line) => ctx.log.warn(line), ctx.retry)
}
