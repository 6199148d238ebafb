/**
 * The load of the "past capacity" test, run in a process of its own (`node --import tsx` this
 * file, one JSON argument; a line when the overload starts, then one JSON line): the mocha process that ran every spec before it
 * carries their heap and leftovers, and a client whose own event loop lags adds that lag to every
 * latency it measures from the intended send time. Measures the route's closed-loop capacity,
 * then offers `factor` times it in open loop.
 */
import { openLoop } from '../../../scripts/bench/open-loop.js'
import { hammer } from './hammer.js'

/** What the parent asks for. */
export interface OverloadRequest {
  baseUrl: string
  path: string
  headers: Record<string, string>
  factor: number
  seconds: number
}

const job = JSON.parse(process.argv[2] ?? '{}') as OverloadRequest
const closed = await hammer(`${job.baseUrl}${job.path}`, job.headers, { clients: 16, seconds: 1.5 })
const capacity = closed.filter((s) => s.status === 200).length / 1.5
// The parent checks health while the overload runs: it waits for this line.
process.stdout.write('overload started\n')
const { samples, clientLagMs } = await openLoop(
  job.baseUrl,
  [{ name: 'overload', rps: Math.ceil(capacity * job.factor), seconds: job.seconds }],
  () => ({ route: job.path, request: { method: 'GET', path: job.path, headers: job.headers } }),
)
process.stdout.write(`${JSON.stringify({ capacity, samples, clientLagMs })}\n`)
