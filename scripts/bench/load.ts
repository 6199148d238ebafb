/**
 * One load phase: every route driven at the same time by its own autocannon instance, each capped
 * at its request rate and stopped after a fixed duration, so the run is bounded in count and time.
 */
import autocannon from 'autocannon'
import { type LatencySummary, rate, summarize } from './stats.js'
import type { BenchUser, RouteSpec } from './workload.js'

/** What one route did in one phase. */
export interface RouteResult {
  route: string
  targetRps: number
  connections: number
  requests: number
  /** Answers outside 2xx plus socket errors and timeouts. */
  errors: number
  statusCodes: Record<string, number>
  socketErrors: number
  timeouts: number
  rps: number
  latencyMs: LatencySummary
}

/** Runs every route at its rate for `durationSeconds`; resolves when all are done. */
export async function runPhase(
  baseUrl: string,
  routes: readonly RouteSpec[],
  rates: Record<string, number>,
  durationSeconds: number,
  users: readonly BenchUser[],
): Promise<RouteResult[]> {
  return Promise.all(routes.map((r) => runRoute(baseUrl, r, rates[r.name] ?? 1, durationSeconds, users)))
}

function runRoute(
  baseUrl: string,
  route: RouteSpec,
  targetRps: number,
  durationSeconds: number,
  users: readonly BenchUser[],
): Promise<RouteResult> {
  // Enough connections for the rate while answers take ~300 ms; fewer would cap throughput early.
  const connections = Math.max(1, Math.min(64, Math.ceil(targetRps / 3)))
  let seq = Math.floor(Math.random() * 1_000_000)
  const latencies: number[] = []
  const statusCodes: Record<string, number> = {}
  let socketErrors = 0
  let timeouts = 0
  const started = Date.now()

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: baseUrl,
        connections,
        overallRate: targetRps,
        duration: durationSeconds,
        timeout: 10,
        requests: [
          {
            setupRequest: (req) => {
              const built = route.build(users, seq++)
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
      (err) => {
        if (err) return reject(err)
        const elapsed = Date.now() - started
        const requests = latencies.length + socketErrors + timeouts
        const non2xx = Object.entries(statusCodes)
          .filter(([code]) => !code.startsWith('2'))
          .reduce((n, [, c]) => n + c, 0)
        resolve({
          route: route.name,
          targetRps,
          connections,
          requests,
          errors: non2xx + socketErrors + timeouts,
          statusCodes,
          socketErrors,
          timeouts,
          rps: rate(latencies.length, elapsed),
          latencyMs: summarize(latencies),
        })
      },
    )
    instance.on('response', (_client, statusCode: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime)
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1
    })
    // autocannon reports a timeout as a request error with this message.
    instance.on('reqError', (error: Error) => {
      if (error.message === 'request timed out') timeouts++
      else socketErrors++
    })
  })
}
