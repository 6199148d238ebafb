import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import type { Sample } from '../../scripts/bench/open-loop.js'
import { summarize } from '../../scripts/bench/stats.js'
import { signUp } from '../../scripts/kit/api.js'
import { buildServer } from '../src/build.js'
import { poolWaiting } from '../src/db/pool-stats.js'
import { BEFORE_ROUTING, type ShedSignal } from '../src/platform/load-shedding.js'
import { SECURITY_HEADERS } from '../src/platform/security-headers.js'
import { metrics } from '../src/telemetry/metrics.js'
import { appPerSuite, LogCapture, testConfig } from './helpers/app.js'
import { type HammerSample, timedGet } from './helpers/hammer.js'
import type { OverloadRequest } from './helpers/overload-client.js'
import { type ServerProcess, startServer } from './helpers/process.js'

const WEB_ORIGIN = 'https://app.example.com'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Keeps the event loop busy most of the time, like a CPU-bound overload, until stopped. */
function hogEventLoop(busyMs: number): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + busyMs
    while (performance.now() < until) {}
  }, 5)
  return () => clearInterval(timer)
}

async function waitFor(check: () => boolean, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached')
    await sleep(5)
  }
}

describe('load shedding', () => {
  describe('on event-loop delay', () => {
    let app: FastifyInstance
    const shed: ShedSignal[] = []
    // Well above what a busy shared CI machine causes by itself, well below the hog's 80 ms.
    appPerSuite({ SHED_EVENT_LOOP_DELAY_MS: '50', SHED_SAMPLE_INTERVAL_MS: '50' }, (built) => {
      app = built
      app.loadShedder.onShed = (signal) => shed.push(signal)
    })

    it('answers 503 OVERLOADED with Retry-After while the loop lags, keeps health answering, and recovers', async () => {
      // Past the start-up grace (two samples from the first request), under a lagging loop.
      await app.inject({ method: 'GET', url: '/health/live' })
      const stop = hogEventLoop(80)
      try {
        await sleep(300)
        const busy = await app.inject({ method: 'GET', url: '/v1/me' })
        expect(busy.statusCode).to.equal(503)
        expect(busy.headers['retry-after']).to.equal('1')
        expect(busy.json().error).to.include({ code: 'OVERLOADED' })
        expect(busy.json().error.requestId).to.be.a('string')
        const live = await app.inject({ method: 'GET', url: '/health/live' })
        expect(live.statusCode).to.equal(200)
      } finally {
        stop()
      }
      expect(shed).to.include('eventLoopDelay')
      expect(app.loadShedder.shed.eventLoopDelay).to.be.at.least(1)
      await waitFor(() => !app.loadShedder.loopDelay?.overloaded)
      // Not shed any more: the route's own answer (no session) comes back.
      const calm = await app.inject({ method: 'GET', url: '/v1/me' })
      expect(calm.statusCode).to.equal(401)
    })

    it('serves the requests that waited through one stall instead of refusing the next sample', async () => {
      await app.inject({ method: 'GET', url: '/health/live' })
      await sleep(200)
      const before = app.loadShedder.shed.eventLoopDelay
      // One 400 ms block (a major GC, a cold path), then requests for the next few samples.
      const until = performance.now() + 400
      while (performance.now() < until) {}
      const answers: number[] = []
      const end = performance.now() + 250
      while (performance.now() < end) {
        answers.push((await app.inject({ method: 'GET', url: '/v1/me' })).statusCode)
        await sleep(5)
      }
      expect(
        answers.filter((s) => s !== 401),
        `answers: ${answers.join(',')}`,
      ).to.deep.equal([])
      expect(app.loadShedder.shed.eventLoopDelay).to.equal(before)
    })
  })

  it('does not count start-up work as overload: a fresh instance serves its first requests', async () => {
    // A 1 s sample: the one that saw the block below is still current when the first request comes.
    // One sample over is overload here, so only the start-up grace lets the first request through.
    const app = await buildServer(
      testConfig({
        SHED_EVENT_LOOP_DELAY_MS: '1',
        SHED_SAMPLE_INTERVAL_MS: '1000',
        SHED_EVENT_LOOP_DELAY_SAMPLES: '1',
      }),
    )
    try {
      // Start-up work (other plugins' onReady, connecting) blocks the loop before any traffic.
      await app.ready()
      const until = performance.now() + 1200
      while (performance.now() < until) {}
      await sleep(300)
      expect(app.loadShedder.loopDelay?.overloaded).to.equal(true)
      const first = await app.inject({ method: 'GET', url: '/v1/me' })
      expect(first.statusCode, first.body).to.equal(401)
    } finally {
      await app.close()
    }
  })

  describe('on queries waiting for a database connection', () => {
    let app: FastifyInstance
    // Background work off, so only the test's queries use the one connection.
    appPerSuite(
      {
        SHED_EVENT_LOOP_DELAY_MS: '100',
        DATABASE_POOL_MAX: '1',
        SHED_POOL_WAITING: '1',
        OUTBOX_RELAY_ENABLED: 'false',
        IDEMPOTENCY_SWEEP_INTERVAL_MS: '3600000',
        WEB_ORIGINS: WEB_ORIGIN,
      },
      (built) => {
        app = built
      },
    )

    it('sheds new requests while the pool has a queue, but not health checks; serves again once it drains', async function () {
      this.timeout(20_000)
      // Boot's own work (schema compilation) can show up as event-loop delay in the first sample.
      await waitFor(() => poolWaiting() === 0 && !app.loadShedder.loopDelay?.overloaded)
      expect((await app.inject({ method: 'GET', url: '/v1/me' })).statusCode).to.equal(401)
      // Prisma's promises are lazy: `then` sends the queries now.
      const holding = app.prisma.$queryRaw`SELECT pg_sleep(0.8)::text`.then(() => {})
      const queued = app.prisma.$queryRaw`SELECT 1`.then(() => {})
      await waitFor(() => poolWaiting() >= 1)
      const busy = await app.inject({ method: 'GET', url: '/v1/me', headers: { origin: WEB_ORIGIN } })
      expect(busy.statusCode).to.equal(503)
      expect(busy.json().error.code).to.equal('OVERLOADED')
      expect(busy.headers['retry-after']).to.equal('1')
      // Refused before the security-header and CORS hooks ran: it carries their headers itself.
      expect(busy.headers).to.include({
        ...SECURITY_HEADERS,
        'cache-control': 'no-store',
        'access-control-allow-origin': WEB_ORIGIN,
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      })
      expect(busy.headers['access-control-expose-headers']).to.include('Retry-After')
      const foreign = await app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { origin: 'https://evil.example' },
      })
      expect(foreign.statusCode).to.equal(503)
      expect(foreign.headers).not.to.have.property('access-control-allow-origin')
      expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).to.equal(200)
      await Promise.all([holding, queued])
      expect(app.loadShedder.shed.poolWaiting).to.be.at.least(1)
      expect((await app.inject({ method: 'GET', url: '/v1/me' })).statusCode).to.equal(401)
    })
  })
})

describe('load shedding before routing, on the real server', () => {
  const ORIGIN = 'https://static.example.test'
  const logs = new LogCapture()
  let app: FastifyInstance
  let url: string
  let hold: net.Socket | undefined

  before(async () => {
    // A limit of one request in flight: one held request fills it.
    app = await buildServer(
      testConfig({
        LOG_LEVEL: 'info',
        WEB_ORIGINS: ORIGIN,
        SHED_CONCURRENCY_MAX: '1',
        SHED_CONCURRENCY_MIN: '1',
        SHED_CONCURRENCY_INITIAL: '1',
      }),
      { logStream: logs },
    )
    url = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  after(async () => {
    hold?.destroy()
    await app.close()
  })

  /** Sends a request whose body never completes: it holds the one in-flight slot until destroyed. */
  async function holdTheSlot() {
    const { port } = new URL(url)
    const socket = net.connect(Number(port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(
      'POST /v1/auth/register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    )
    await waitFor(() => app.loadShedder.concurrency?.full === true, 5000)
    return socket
  }

  // What the request-count and 5xx-rate metric records: early refusals belong in it.
  const requests: string[] = []
  const record = metrics.request
  beforeEach(() => {
    requests.length = 0
    metrics.request = (route, method, status, seconds) => {
      requests.push(`${route} ${method} ${status}`)
      record.call(metrics, route, method, status, seconds)
    }
  })
  afterEach(() => {
    metrics.request = record
  })

  /** Sends raw bytes on a fresh connection and returns everything the server answered. */
  async function rawRequest(bytes: string) {
    const { port } = new URL(url)
    const socket = net.connect(Number(port), '127.0.0.1')
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    socket.write(bytes)
    await new Promise((resolve) => socket.once('close', resolve))
    return answer
  }

  const headersOf = (res: Response, names: string[]) =>
    Object.fromEntries(names.map((n) => [n, res.headers.get(n)]))

  it('answers the 503 a routed refusal gives, without routing it or logging a line per request', async () => {
    const routed = await fetch(`${url}/v1/me`, { headers: { origin: ORIGIN } })
    expect(routed.status).to.equal(401)
    hold = await holdTheSlot()

    const res = await fetch(`${url}/v1/me`, { headers: { origin: ORIGIN, 'x-request-id': 'early-1' } })
    expect(res.status).to.equal(503)
    expect(res.headers.get('retry-after')).to.equal('1')
    expect(res.headers.get('cache-control')).to.equal('no-store')
    expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8')
    expect(res.headers.get('x-request-id')).to.equal('early-1')
    expect(await res.json()).to.deep.equal({
      error: { code: 'OVERLOADED', message: 'Server busy, retry shortly', requestId: 'early-1' },
    })
    // What a browser and a proxy read is what a routed answer carries: CORS and security headers.
    const shared = [
      'access-control-allow-origin',
      'access-control-allow-credentials',
      'access-control-expose-headers',
      'vary',
      'content-security-policy',
      'strict-transport-security',
      'x-content-type-options',
      'x-frame-options',
      'referrer-policy',
      'cross-origin-resource-policy',
    ]
    expect(headersOf(res, shared)).to.deep.equal(headersOf(routed, shared))
    expect(res.headers.get('access-control-allow-origin')).to.equal(ORIGIN)
    // Another origin gets no CORS grant, as with routing.
    const foreign = await fetch(`${url}/v1/me`, { headers: { origin: 'https://evil.example.test' } })
    expect(foreign.status).to.equal(503)
    expect(foreign.headers.get('access-control-allow-origin')).to.equal(null)
    expect(foreign.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/)

    expect(app.loadShedder.shedBeforeRouting.concurrency).to.equal(2)
    expect(app.loadShedder.shed.concurrency).to.equal(2)
    expect(requests.filter((r) => r === `${BEFORE_ROUTING} GET 503`)).to.have.length(2)
    expect(logs.lines.some((l) => l.reqId === 'early-1')).to.equal(false)
    // One summary line for both, within a second or so.
    await waitFor(() => logs.lines.some((l) => l.msg === 'requests shed'), 3000)
    const summaries = logs.lines.filter((l) => l.msg === 'requests shed')
    expect(summaries).to.have.length(1)
    expect(summaries[0]).to.include({ shed: 2, beforeRouting: 2, level: 40 })
    expect(summaries[0]?.bySignal).to.deep.equal({ concurrency: 2 })
  })

  it('leaves health checks and the routes with their own limiter to routing', async () => {
    hold ??= await holdTheSlot()
    expect((await fetch(`${url}/health/live`)).status).to.equal(200)
    // The login takes no in-flight slot: it reaches its route and answers for the credentials.
    const login = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.test', password: 'not the password 123' }),
    })
    expect(login.status).to.equal(401)
    // Also when the request line names the whole URL: routing goes by its path, so does this.
    const absolute = await rawRequest(
      'POST http://x/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
        'connection: close\r\ncontent-length: 2\r\n\r\n{}',
    )
    expect(absolute).to.match(/^HTTP\/1\.1 400 /)
    const before = app.loadShedder.shedBeforeRouting.concurrency
    // Other /v1/auth/ routes do take a slot: routing sheds them, the same 503 at a higher cost.
    const register = await fetch(`${url}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(register.status).to.equal(503)
    expect(app.loadShedder.shedBeforeRouting.concurrency).to.equal(before)
    expect(app.loadShedder.shed.concurrency).to.be.above(before)

    hold.destroy()
    hold = undefined
    await waitFor(() => app.loadShedder.concurrency?.full === false, 5000)
    expect((await fetch(`${url}/v1/me`)).status).to.equal(401)
  })
})

describe('load shedding before routing, on a lagging loop', () => {
  it('refuses in front of routing while the loop lags, keeps health answering, and recovers', async () => {
    const logs = new LogCapture()
    const app = await buildServer(
      testConfig({ LOG_LEVEL: 'info', SHED_EVENT_LOOP_DELAY_MS: '50', SHED_SAMPLE_INTERVAL_MS: '50' }),
      { logStream: logs },
    )
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 })
      // The first request starts the start-up grace (two samples); wait it out.
      expect((await fetch(`${url}/health/live`)).status).to.equal(200)
      await sleep(200)
      const stop = hogEventLoop(80)
      try {
        await waitFor(() => app.loadShedder.loopDelay?.overloaded === true, 5000)
        const busy = await fetch(`${url}/v1/me`)
        expect(busy.status).to.equal(503)
        expect(busy.headers.get('retry-after')).to.equal('1')
        expect(((await busy.json()) as { error: { code: string } }).error.code).to.equal('OVERLOADED')
        expect((await fetch(`${url}/health/live`)).status).to.equal(200)
      } finally {
        stop()
      }
      expect(app.loadShedder.shedBeforeRouting.eventLoopDelay).to.be.at.least(1)
      await waitFor(() => !app.loadShedder.loopDelay?.overloaded)
      expect((await fetch(`${url}/v1/me`)).status).to.equal(401)
      // The warning reports the lag that caused the refusals, not the calm loop at its writing.
      await waitFor(() => logs.lines.some((l) => l.msg === 'requests shed'), 3000)
      const summary = logs.lines.find((l) => l.msg === 'requests shed')
      expect(summary?.bySignal).to.have.property('eventLoopDelay')
      expect(summary?.eventLoopDelayMs).to.be.above(50)
    } finally {
      await app.close()
    }
  })
})

describe('load shedding before routing, while the service drains', () => {
  it('leaves the refusal to Fastify, whose 503 closes the connection the drain waits for', async function () {
    this.timeout(15_000)
    const app = await buildServer(
      testConfig({ SHED_CONCURRENCY_MAX: '1', SHED_CONCURRENCY_MIN: '1', SHED_CONCURRENCY_INITIAL: '1' }),
    )
    const { port } = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
    const connect = async () => {
      const socket = net.connect(Number(port), '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      return socket
    }
    const hold = await connect()
    hold.write(
      'POST /v1/auth/register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    )
    await waitFor(() => app.loadShedder.concurrency?.full === true, 5000)
    // A keep-alive client, busy when the drain starts (its connection is not idle then).
    const client = await connect()
    let answer = ''
    client.on('data', (chunk) => {
      answer += chunk.toString()
    })
    let clientClosed = false
    client.once('close', () => {
      clientClosed = true
    })
    const closing = app.close()
    client.write('GET /v1/me HTTP/1.1\r\nhost: x\r\n\r\n')
    await waitFor(() => answer.includes('\r\n\r\n'), 5000)
    expect(answer).to.match(/^HTTP\/1\.1 503 /)
    expect(answer.toLowerCase()).to.include('connection: close')
    await waitFor(() => clientClosed, 5000)
    hold.destroy()
    const started = Date.now()
    await closing
    expect(Date.now() - started).to.be.below(5000)
  })
})

async function retryWhileShed<T>(attempt: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt()
    } catch (err) {
      if (i >= tries || !/got 503/.test((err as Error).message)) throw err
      await sleep(1000)
    }
  }
}

describe('load shedding past capacity, over real HTTP', () => {
  let server: ServerProcess
  let headers: Record<string, string>
  before(async function () {
    this.timeout(90_000)
    // A real process with production's shedding defaults (the test environment turns them off).
    server = await startServer({
      SHED_EVENT_LOOP_DELAY_MS: undefined,
      SHED_POOL_WAITING: undefined,
      // The in-flight limit is opt-in (docs/resilience.md): turned on here at its documented setting.
      SHED_CONCURRENCY_MAX: '512',
    })
    // The instance sheds on this busy machine too: sign-up retries after Retry-After, as a client would.
    const { token } = await retryWhileShed(() => signUp(server.url, 1))
    headers = { authorization: `Bearer ${token}` }
  })
  after(async () => {
    await server?.stop()
  })

  it('keeps accepted latency near the unloaded one, answers only 200 or 503 + Retry-After, and health keeps answering', async function () {
    // Three attempts of about 8 s each, every one bounded by its client's own kill timer.
    this.timeout(3 * OVERLOAD_CLIENT_LIMIT_MS + 20_000)
    const path = '/v1/transactions?limit=20'
    const agent = new http.Agent({ keepAlive: true })
    // The load comes from a process on the same 2 cores as the service: a neighbour's burst of CPU
    // can hold the client back as much as the server. So the latency ratio gets three attempts;
    // without shedding it fails each by far (the queue grows for the whole run), and every other
    // property must hold in each attempt. An attempt that shed nothing (the machine sped up after
    // the capacity was measured) is retried too: the overload did not happen. Without shedding,
    // every attempt has no 503 and a latency far above the limit.
    const attempts: string[] = []
    try {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const run = await overloadOnce(server.url, path, headers, agent)
        const baseline = summarize(run.unloaded)
        const ok = run.samples.filter((s) => s.status === 200)
        // Counted from when each request actually left: a client that falls behind its own schedule
        // (it shares the 2 cores with the service) would otherwise add its lag to every answer. The
        // service's own queue still counts: a request waits in it, or for a socket, after it left.
        const accepted = summarize(ok.map((s) => s.intendedMs + s.latencyMs - s.sentMs))
        const fromIntended = summarize(ok.map((s) => s.latencyMs))
        // A ratio of two latencies measured here and now, not a number of milliseconds. The unloaded
        // p95 counts from 10 ms: the route answers in ~3 ms, where a few ms of scheduling noise on a
        // 2-core machine moved the ratio 2x between runs (79-125 ms accepted p50 read as 26x).
        const ratio = accepted.p50 / Math.max(baseline.p95, 10)
        attempts.push(
          `attempt ${attempt}: accepted p50 ${accepted.p50.toFixed(1)} ms from sending ` +
            `(${fromIntended.p50.toFixed(1)} ms from the intended time) vs unloaded p95 ` +
            `${baseline.p95.toFixed(1)} ms (floor 10) = ${ratio.toFixed(1)}x, capacity ` +
            `${run.capacity.toFixed(0)}/s, client lag ${run.clientLagMs.toFixed(0)} ms, ` +
            `${run.samples.filter((s) => s.status === 503).length} of ${run.samples.length} shed`,
        )
        // Measured at twice the capacity: 1.5-2.6x with shedding, 71x with every signal off.
        console.log(attempts.at(-1))
        const statuses = [...new Set(run.samples.map((s) => s.status))].sort()
        expect(statuses).to.include(200)
        expect(statuses.filter((status) => status !== 200 && status !== 503)).to.deep.equal([])
        expect(run.samples.filter((s) => s.status === 503).every((s) => s.retryAfter === '1')).to.equal(true)
        expect(run.health.map((h) => h.status)).to.deep.equal([200, 200, 200, 200, 200])
        if (statuses.includes(503) && ratio < 25) return
      }
      expect.fail(
        `no attempt both shed and kept accepted latency near the unloaded one:\n${attempts.join('\n')}`,
      )
    } finally {
      agent.destroy()
    }
  })
})

/**
 * The overload, as a multiple of the route's measured capacity. Past a few times it, requests wait
 * in the kernel before the instance reads them, where no signal sees them (accepted p50 0.8 s in
 * two CI runs at 3x when the shared machine slowed; 0.3-1.6 s at 6-8x here, counted from sending;
 * docs/resilience.md). Twice the capacity still grows an unbounded queue without shedding: 71x
 * with every signal off. At 2x the pool-wait and event-loop signals alone also hold it (2.5-3.2x
 * with SHED_CONCURRENCY_MAX=0), so this checks shedding as a whole; the in-flight limit's own
 * behaviour is core/concurrency-limit.test.ts's.
 */
const OVERLOAD_FACTOR = 2

/** How long one overload client may run (about 8 s normally) before it is killed and its attempt fails. */
const OVERLOAD_CLIENT_LIMIT_MS = 30_000

/**
 * Runs helpers/overload-client.ts in its own process: `started` settles when its overload begins,
 * `result` with what it measured.
 */
function overloadFromOwnProcess(job: OverloadRequest) {
  const script = fileURLToPath(new URL('./helpers/overload-client.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  let markStarted: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    markStarted = resolve
  })
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    out += chunk
    if (out.includes('overload started\n')) markStarted()
  })
  const result = new Promise<{ capacity: number; samples: Sample[]; clientLagMs: number }>(
    (resolve, reject) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), OVERLOAD_CLIENT_LIMIT_MS)
      child.once('exit', (code, signal) => {
        clearTimeout(kill)
        markStarted()
        if (signal === 'SIGKILL') {
          return reject(
            new Error(`overload client still running after ${OVERLOAD_CLIENT_LIMIT_MS} ms: killed`),
          )
        }
        if (code !== 0) return reject(new Error(`overload client exited with ${code ?? signal}`))
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'))
      })
    },
  )
  return { started, result }
}

/**
 * One overload run: the route's unloaded latency, its closed-loop capacity, then OVERLOAD_FACTOR
 * times that as a fixed arrival rate for 3 s with health probes in the middle of it.
 */
async function overloadOnce(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  agent: http.Agent,
) {
  const unloaded: number[] = []
  for (let i = 0; i < 40; i++) {
    const sample = await timedGet(`${baseUrl}${path}`, headers, agent)
    expect([200, 503]).to.include(sample.status)
    if (i >= 10 && sample.status === 200) unloaded.push(sample.ms)
  }
  // Without shedding the queue, and every answer's wait, grows for the whole run at this rate.
  const overload = overloadFromOwnProcess({ baseUrl, path, headers, factor: OVERLOAD_FACTOR, seconds: 3 })
  await overload.started
  await sleep(1500)
  const health: HammerSample[] = await Promise.all(
    Array.from({ length: 5 }, () => timedGet(`${baseUrl}/health/live`, {}, agent)),
  )
  const { capacity, samples, clientLagMs } = await overload.result
  return { unloaded, capacity, samples, health, clientLagMs }
}
