/**
 * Telemetry end to end: the real server process with the telemetry preload exports over
 * OTLP/HTTP (JSON) to a receiver this test runs, and a register -> login -> transfer -> list
 * journey arrives as traces, log correlation and metrics.
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import { fund } from '../../../scripts/kit/api.js'
import { TEST_FUNDING_SECRET } from '../helpers/funding.js'
import { type ServerProcess, startServer } from '../helpers/process.js'
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/users.js'
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './receiver.js'

const SERVER = 2 // OTLP SpanKind SERVER
const PRELOAD = ['--import', './app/src/telemetry/register.ts']

/** A W3C traceparent with fresh ids, as an instrumented client would send. */
function traceparent() {
  const traceId = randomBytes(16).toString('hex')
  const parentId = randomBytes(8).toString('hex')
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` }
}

describe('telemetry: traces, logs and metrics of a user journey', function () {
  // Two minutes: the server boots under the tsx loader on a shared, busy machine.
  this.timeout(120_000)
  let receiver: OtlpReceiver
  let server: ServerProcess
  /** Trace context sent with each journey step, by step name. */
  const sent = new Map<string, ReturnType<typeof traceparent>>()
  let untracedRequestId = ''
  /** A request whose caller decided not to sample it (traceparent flags 00). */
  const unsampled = { ...traceparent(), requestId: '' }

  async function call(step: string, method: string, path: string, body?: unknown, token?: string) {
    const ctx = traceparent()
    sent.set(step, ctx)
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        traceparent: ctx.header,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' && path === '/v1/transactions'
          ? { 'idempotency-key': randomBytes(8).toString('hex') }
          : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    })
    const json = (await res.json()) as Record<string, unknown>
    return { status: res.status, json, requestId: res.headers.get('x-request-id') ?? '' }
  }

  before(async () => {
    receiver = await startOtlpReceiver()
    server = await startServer(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Every new trace, and the caller's decision where it sent one (flags 00: not sampled).
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        // Every trace of the journey, however fast it runs: no cap.
        TRACING_MAX_TRACES_PER_SECOND: '0',
        OTEL_SERVICE_NAME: 'journey-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      },
      undefined,
      PRELOAD,
    )

    const alice = { email: uniqueEmail('alice'), password: GOOD_PASSWORD, name: 'Alice' }
    const bob = { email: uniqueEmail('bob'), password: GOOD_PASSWORD, name: 'Bob' }
    expect((await call('register', 'POST', '/v1/auth/register', alice)).status).to.equal(201)
    expect((await call('register-bob', 'POST', '/v1/auth/register', bob)).status).to.equal(201)
    const login = await call('login', 'POST', '/v1/auth/login', {
      email: alice.email,
      password: alice.password,
    })
    expect(login.status).to.equal(200)
    const token = login.json.token as string
    const bobLogin = await call('login-bob', 'POST', '/v1/auth/login', {
      email: bob.email,
      password: bob.password,
    })
    const from = (await call('open', 'POST', '/v1/accounts', { currency: 'EUR' }, token)).json.account as {
      id: string
    }
    const to = (
      await call('open-bob', 'POST', '/v1/accounts', { currency: 'EUR' }, bobLogin.json.token as string)
    ).json.account as { id: string }
    // Money enters through the signed funding webhook only.
    await fund(server.url, TEST_FUNDING_SECRET, from.id, '500')
    const transfer = await call(
      'transfer',
      'POST',
      '/v1/transactions',
      { type: 'transfer', amount: '200', currency: 'EUR', fromAccountId: from.id, toAccountId: to.id },
      token,
    )
    expect(transfer.status).to.equal(201)
    // The transfer's after-answer Redis work (notification, cache) must not share an auto-pipelined
    // batch with the list's session lookup: a batch runs in the trace of the command that opened it.
    await new Promise((r) => setTimeout(r, 300))
    expect((await call('list', 'GET', '/v1/transactions?limit=5', undefined, token)).status).to.equal(200)
    expect(
      (
        await call(
          'missing',
          'GET',
          `/v1/transactions/${'0'.repeat(8)}-0000-4000-8000-000000000000`,
          undefined,
          token,
        )
      ).status,
    ).to.equal(404)

    // An SSE stream held open across a metric export: counted as a connection, not as a latency.
    const stream = new AbortController()
    const sse = await fetch(`${server.url}/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: stream.signal,
    })
    expect(sse.status).to.equal(200)
    await new Promise((r) => setTimeout(r, 2500))
    stream.abort()
    // Longer than one metric export interval (1 s), so a periodic export sees the stream gone: the final
    // flush at shutdown comes after the app has unregistered its gauges.
    await new Promise((r) => setTimeout(r, 1800))

    // One request without trace context: the service starts a trace of its own.
    const res = await fetch(`${server.url}/v1/accounts`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).to.equal(200)
    untracedRequestId = res.headers.get('x-request-id') ?? ''
    const notSampled = await fetch(`${server.url}/v1/accounts`, {
      headers: {
        authorization: `Bearer ${token}`,
        traceparent: `00-${unsampled.traceId}-${unsampled.parentId}-00`,
      },
    })
    expect(notSampled.status).to.equal(200)
    unsampled.requestId = notSampled.headers.get('x-request-id') ?? ''

    // A graceful stop flushes pending spans and the final metric collection.
    server.child.kill('SIGTERM')
    expect((await server.exited).code).to.equal(0)
  })

  after(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL')
    await receiver?.close()
  })

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId)
  const serverSpanOf = (step: string) => {
    const ctx = sent.get(step)
    if (!ctx) throw new Error(`no step ${step}`)
    const servers = spansOf(ctx.traceId).filter((s) => s.kind === SERVER)
    expect(servers, `server spans of ${step}`).to.have.length(1)
    return servers[0] as ReceivedSpan
  }
  /** Every span of a trace reaches its root through parents that are in the trace. */
  const descendantsOf = (root: ReceivedSpan, spans: ReceivedSpan[]) => {
    const ids = new Set([root.spanId])
    let grown = true
    while (grown) {
      grown = false
      for (const s of spans) {
        if (!ids.has(s.spanId) && ids.has(s.parentSpanId)) {
          ids.add(s.spanId)
          grown = true
        }
      }
    }
    return spans.filter((s) => ids.has(s.spanId) && s !== root)
  }

  it('keeps the trace id of an incoming traceparent: one trace per request, the caller as parent', () => {
    for (const [step, ctx] of sent) {
      const span = serverSpanOf(step)
      expect(span.parentSpanId, step).to.equal(ctx.parentId)
    }
    const traceIds = [...sent.values()].map((c) => c.traceId)
    expect(new Set(traceIds).size).to.equal(sent.size)
  })

  it('names the server span by route and records method, route, status and the service resource', () => {
    const transfer = serverSpanOf('transfer')
    expect(transfer.name).to.equal('POST /v1/transactions')
    expect(transfer.attributes['http.route']).to.equal('/v1/transactions')
    expect(transfer.attributes['http.request.method'] ?? transfer.attributes['http.method']).to.equal('POST')
    expect(
      transfer.attributes['http.response.status_code'] ?? transfer.attributes['http.status_code'],
    ).to.equal(201)
    expect(transfer.resource['service.name']).to.equal('journey-test')
    expect(transfer.resource['deployment.environment.name']).to.equal('test')
    // The path without its query string (search terms are personal data).
    expect(serverSpanOf('list').attributes['url.path']).to.equal('/v1/transactions')
    const missing = serverSpanOf('missing')
    expect(missing.attributes['http.route']).to.equal('/v1/transactions/:id')
    expect(
      missing.attributes['http.response.status_code'] ?? missing.attributes['http.status_code'],
    ).to.equal(404)
  })

  it('puts the database and Redis work of each request under its server span', () => {
    for (const step of ['register', 'login', 'transfer', 'list']) {
      const root = serverSpanOf(step)
      const children = descendantsOf(root, spansOf(root.traceId))
      // Every span of the trace hangs under the server span: nothing orphaned.
      expect(children.length, `${step} spans`).to.equal(spansOf(root.traceId).length - 1)
      const pg = children.filter(
        (s) => s.attributes['db.system.name'] === 'postgresql' || s.attributes['db.system'] === 'postgresql',
      )
      expect(pg.length, `${step}: PostgreSQL spans`).to.be.greaterThan(0)
      // The transfer and the list are plain pg (db/sql.ts): their statements are the pg spans above.
      expect(
        children.some((s) => s.name.startsWith('prisma:')),
        `${step}: Prisma spans`,
      ).to.equal(step === 'register' || step === 'login')
      if (step === 'login' || step === 'transfer') {
        // A write's session check (and the login's rate limits) go to Redis; a read's may be answered
        // by the instance's local copy of recent checks (features/auth/session-cache.ts).
        const redis = children.filter(
          (s) => s.attributes['db.system.name'] === 'redis' || s.attributes['db.system'] === 'redis',
        )
        expect(redis.length, `${step}: Redis spans`).to.be.greaterThan(0)
      }
    }
  })

  it('starts a new trace for a request without trace context', () => {
    const roots = receiver.spans.filter(
      (s) =>
        s.kind === SERVER && s.attributes['http.route'] === '/v1/accounts' && s.name === 'GET /v1/accounts',
    )
    const own = roots.filter((s) => !s.parentSpanId)
    expect(own).to.have.length(1)
    expect([...sent.values()].map((c) => c.traceId)).not.to.include(own[0]?.traceId)
    const logLines = logLinesOf(untracedRequestId)
    expect(logLines.length).to.be.greaterThan(0)
    for (const line of logLines) expect(line.trace_id).to.equal(own[0]?.traceId)
  })

  it('records nothing of an unsampled request and still writes its trace id once into each of its log lines', () => {
    expect(spansOf(unsampled.traceId)).to.have.length(0)
    const raw = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes(`"reqId":"${unsampled.requestId}"`))
    expect(raw.length).to.be.greaterThan(0)
    for (const line of raw) {
      expect(line.split('"trace_id"').length - 1, line).to.equal(1)
      expect((JSON.parse(line) as Record<string, unknown>).trace_id).to.equal(unsampled.traceId)
    }
  })

  function logLinesOf(requestId: string) {
    return server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.reqId === requestId)
  }

  it('writes the trace id into every log line of a request', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const transferTrace = sent.get('transfer')?.traceId
    const ofTransfer = lines.filter((l) => l.trace_id === transferTrace)
    // The access-log line ("request completed") at least.
    expect(ofTransfer.length).to.be.greaterThanOrEqual(1)
    const requestIds = new Set(ofTransfer.map((l) => l.reqId))
    expect(requestIds.size).to.equal(1)
    const all = lines.filter((l) => l.reqId === [...requestIds][0])
    expect(all.length).to.equal(ofTransfer.length)
  })

  it('exports request, pool, outbox and SSE metrics with the expected names and values', () => {
    const points = receiver.points
    const durations = points.filter((p) => p.metric === 'http.server.request.duration')
    expect(durations.length).to.be.greaterThan(0)
    expect(durations.every((p) => p.kind === 'exponentialHistogram' && p.unit === 's')).to.equal(true)
    const transfers = durations.filter(
      (p) =>
        p.attributes['http.route'] === '/v1/transactions' && p.attributes['http.request.method'] === 'POST',
    )
    // Cumulative temporality: the last point holds every request so far (the one transfer; the
    // funding went to its own route).
    expect(Math.max(...transfers.map((p) => p.value))).to.equal(1)
    const fundings = durations.filter((p) => p.attributes['http.route'] === '/v1/funding/webhook')
    expect(Math.max(...fundings.map((p) => p.value))).to.equal(1)
    expect(transfers.every((p) => p.attributes['http.response.status_class'] === '2xx')).to.equal(true)
    // Health probes stay out of the request metrics.
    expect(durations.some((p) => String(p.attributes['http.route']).startsWith('/health'))).to.equal(false)

    const errors = points.filter((p) => p.metric === 'http.server.request.errors')
    const notFound = errors.filter((p) => p.attributes['http.route'] === '/v1/transactions/:id')
    expect(Math.max(...notFound.map((p) => p.value))).to.equal(1)
    expect(notFound[0]?.attributes['http.response.status_class']).to.equal('4xx')

    const maxPool = points.filter(
      (p) => p.metric === 'db.client.connection.max' && p.attributes['db.pool.role'] === 'writer',
    )
    expect(maxPool.at(-1)?.value).to.equal(10)
    const utilization = points.filter((p) => p.metric === 'db.client.connection.utilization')
    expect(utilization.length).to.be.greaterThan(0)
    expect(utilization.every((p) => p.value >= 0 && p.value <= 1)).to.equal(true)
    for (const name of ['db.client.connection.used', 'db.client.connection.pending_requests']) {
      expect(
        points.some((p) => p.metric === name),
        name,
      ).to.equal(true)
    }
    const lag = points.filter((p) => p.metric === 'outbox.lag')
    expect(lag.length).to.be.greaterThan(0)
    expect(lag.every((p) => p.unit === 's' && p.value >= 0)).to.equal(true)
    const sse = points.filter((p) => p.metric === 'sse.connections').map((p) => p.value)
    expect(Math.max(...sse)).to.equal(1)
    expect(sse.at(-1)).to.equal(0)
    expect(durations.some((p) => p.attributes['http.route'] === '/v1/notifications/stream')).to.equal(false)
    // The deposit and the transfer announced three notifications, which the relay moved.
    expect(
      Math.max(...points.filter((p) => p.metric === 'outbox.relayed').map((p) => p.value)),
    ).to.be.greaterThanOrEqual(3)
  })
})
