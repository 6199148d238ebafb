/**
 * Closed-loop throughput: `connections` clients each keep one request in flight for `seconds`
 * (autocannon). This measures capacity, the most a route answers per second; latencies under it
 * are those of a saturated server and understate what an open-loop client sees (open-loop.ts).
 */
import autocannon from 'autocannon'
import type { BenchRequest } from './workload.js'

/** Throughput and latency of one closed-loop run. */
export interface ClosedLoopResult {
  rps: number
  requests: number
  non2xx: number
  errors: number
  p50: number
  p99: number
  /** Answers by status code. */
  statuses: Record<string, number>
}

/** Drives `url` with `build(seq)` requests from `connections` connections for `seconds`. */
export function closedLoop(
  url: string,
  build: (seq: number) => BenchRequest,
  options: { connections: number; seconds: number },
): Promise<ClosedLoopResult> {
  let seq = 0
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: options.connections,
        duration: options.seconds,
        timeout: 10,
        requests: [
          {
            setupRequest: (req) => {
              const built = build(seq++)
              return {
                ...req,
                method: built.method,
                path: built.path,
                headers: built.headers,
                body: built.body,
              }
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err)
        resolve({
          // Successful answers only: a route answering errors fast is not fast.
          rps: (result.requests.total - result.non2xx) / result.duration,
          requests: result.requests.total,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          p50: result.latency.p50,
          p99: result.latency.p99,
          statuses: Object.fromEntries(
            Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [
              code,
              (v as { count: number }).count,
            ]),
          ),
        })
      },
    )
  })
}
