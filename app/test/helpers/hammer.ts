/**
 * Closed-loop overload over real HTTP: `clients` keep-alive connections, each sending its next
 * request as soon as the previous one is answered, for a bounded time. Far more clients than an
 * instance serves at once is "past capacity" on any machine, fast or loaded.
 */
import http from 'node:http'

/** One answer: status (0 for a socket error or timeout), latency, and its Retry-After header. */
export interface HammerSample {
  status: number
  ms: number
  retryAfter: string | undefined
}

/** Sends one GET over `agent`; never rejects (a failure is status 0). */
export function timedGet(
  url: string,
  headers: Record<string, string>,
  agent: http.Agent,
  timeoutMs = 10_000,
): Promise<HammerSample> {
  const started = performance.now()
  return new Promise((resolve) => {
    const done = (status: number, retryAfter?: string) =>
      resolve({ status, ms: performance.now() - started, retryAfter })
    const req = http.get(url, { headers, agent, timeout: timeoutMs }, (res) => {
      res.resume()
      res.once('end', () => done(res.statusCode ?? 0, res.headers['retry-after']))
      res.once('error', () => done(0))
    })
    req.once('timeout', () => req.destroy(new Error('timeout')))
    req.once('error', () => done(0))
  })
}

/** Runs `clients` closed loops of GET `url` for `seconds`; resolves with every answer. */
export async function hammer(
  url: string,
  headers: Record<string, string>,
  options: { clients: number; seconds: number },
): Promise<HammerSample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.clients })
  const samples: HammerSample[] = []
  const until = performance.now() + options.seconds * 1000
  const loop = async () => {
    while (performance.now() < until) samples.push(await timedGet(url, headers, agent))
  }
  try {
    await Promise.all(Array.from({ length: options.clients }, loop))
  } finally {
    agent.destroy()
  }
  return samples
}
