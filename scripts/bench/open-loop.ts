/**
 * Open-loop load: requests leave at a fixed arrival rate whatever the server does, and each
 * latency is measured from the request's intended send time. A slow server cannot hide behind
 * fewer requests (coordinated omission): a request that waits for a free socket, or is sent late
 * because the client was busy, counts its wait. Phases change the rate (a spike profile).
 */
import http from 'node:http'
import { type PhaseTally, tallyPhase } from './spike.js'
import type { BenchRequest } from './workload.js'

/** One phase of the profile: total arrival rate and duration. */
export interface OpenLoopPhase {
  name: string
  rps: number
  seconds: number
}

/** One request's outcome; `intendedMs` and `latencyMs` relative to the run's start. */
export interface Sample {
  phase: number
  route: string
  intendedMs: number
  /** When the request actually left: later than `intendedMs` by the client's own lag. */
  sentMs: number
  latencyMs: number
  /** HTTP status, or 0 for a socket error / timeout. */
  status: number
  /** The answer's Retry-After header, if any. */
  retryAfter?: string
}

/** Runs the phases back to back against `baseUrl`; `next(seq)` picks each request. */
export async function openLoop(
  baseUrl: string,
  phases: readonly OpenLoopPhase[],
  next: (seq: number) => { route: string; request: BenchRequest },
  options: { timeoutMs: number } = { timeoutMs: 10_000 },
): Promise<{ samples: Sample[]; phases: PhaseTally[]; clientLagMs: number }> {
  const url = new URL(baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 })
  const samples: Sample[] = []
  const pending = new Set<Promise<void>>()
  const start = performance.now()
  let seq = 0
  let worstLag = 0

  const send = (phase: number, route: string, req: BenchRequest, intendedMs: number) => {
    const sentMs = performance.now() - start
    const done = new Promise<void>((resolveDone) => {
      const finish = (status: number, retryAfter?: string) => {
        const latencyMs = performance.now() - start - intendedMs
        samples.push({ phase, route, intendedMs, sentMs, latencyMs, status, retryAfter })
        resolveDone()
      }
      const r = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.path,
          headers: req.body ? { ...req.headers, 'content-length': Buffer.byteLength(req.body) } : req.headers,
          agent,
          timeout: options.timeoutMs,
        },
        (res) => {
          res.resume()
          res.once('end', () => finish(res.statusCode ?? 0, res.headers['retry-after']))
          res.once('error', () => finish(0))
        },
      )
      r.once('timeout', () => r.destroy(new Error('timeout')))
      r.once('error', () => finish(0))
      r.end(req.body)
    })
    pending.add(done)
    void done.then(() => pending.delete(done))
  }

  let phaseStart = 0
  for (const [index, phase] of phases.entries()) {
    const interval = 1000 / phase.rps
    const count = Math.round(phase.rps * phase.seconds)
    let sent = 0
    await new Promise<void>((resolvePhase) => {
      const tick = () => {
        const now = performance.now() - start
        // Every request whose intended time has come leaves now; latency still counts from its time.
        while (sent < count && phaseStart + sent * interval <= now) {
          const intended = phaseStart + sent * interval
          worstLag = Math.max(worstLag, now - intended)
          const { route, request } = next(seq++)
          send(index, route, request, intended)
          sent++
        }
        if (sent >= count) resolvePhase()
        else setTimeout(tick, Math.min(5, Math.max(0, phaseStart + sent * interval - now)))
      }
      tick()
    })
    phaseStart += phase.seconds * 1000
    // Wait for the phase's end time itself, so the next phase starts on schedule.
    const wait = phaseStart - (performance.now() - start)
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  await Promise.all(pending)
  agent.destroy()
  const tallies = phases.map((p, i) =>
    tallyPhase(
      p,
      samples.filter((s) => s.phase === i),
    ),
  )
  return { samples, phases: tallies, clientLagMs: worstLag }
}
