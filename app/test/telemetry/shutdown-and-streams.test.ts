/**
 * Telemetry at the edges of a service's life: the final export at a graceful stop still carries
 * the observed gauges, and an SSE stream's heartbeats add nothing to the stream's trace.
 */
import { randomBytes } from 'node:crypto'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { expect } from 'chai'
import { signUp } from '../../../scripts/kit/api.js'
import { type ServerProcess, startServer } from '../helpers/process.js'
import { type OtlpReceiver, startOtlpReceiver } from './receiver.js'

const HEARTBEAT_MS = 200

describe('telemetry: final flush and long-lived streams', function () {
  this.timeout(120_000)
  let receiver: OtlpReceiver
  let server: ServerProcess
  const streamTrace = randomBytes(16).toString('hex')
  /** When the stream's headers arrived: all of the route's own work is done by then. */
  let streamOpenedAt = 0
  /** When the client left: closing the stream (lease release, unsubscribe) belongs to its trace. */
  let streamClosedAt = 0

  before(async () => {
    receiver = await startOtlpReceiver()
    server = await startServer(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'always_on',
        TRACING_MAX_TRACES_PER_SECOND: '0',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        // Far beyond the test: the only metric export is the one at shutdown.
        OTEL_METRIC_EXPORT_INTERVAL: '600000',
        NOTIFICATIONS_HEARTBEAT_MS: String(HEARTBEAT_MS),
      },
      undefined,
      ['--import', './app/src/telemetry/register.ts'],
    )
    const { token } = await signUp(server.url, 0)

    const stream = new AbortController()
    const sse = await fetch(`${server.url}/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${streamTrace}-${'1'.repeat(16)}-01` },
      signal: stream.signal,
    })
    streamOpenedAt = Date.now()
    expect(sse.status).to.equal(200)
    // Several heartbeats, each checking the session and renewing the stream's lease in Redis.
    const reader = sse.body?.getReader()
    let text = ''
    while ((text.match(/: heartbeat/g) ?? []).length < 4) {
      const chunk = await reader?.read()
      if (!chunk || chunk.done) break
      text += Buffer.from(chunk.value).toString()
    }
    expect((text.match(/: heartbeat/g) ?? []).length).to.be.at.least(4)
    streamClosedAt = Date.now()
    stream.abort()

    server.child.kill('SIGTERM')
    expect((await server.exited).code).to.equal(0)
  })

  after(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL')
    await receiver?.close()
  })

  it('exports the gauges with their last values in the final flush at shutdown', () => {
    expect(receiver.paths.filter((p) => p === '/v1/metrics')).to.have.length(1)
    const last = (name: string, role?: string) =>
      receiver.points
        .filter((p) => p.metric === name && (role === undefined || p.attributes['db.pool.role'] === role))
        .at(-1)?.value
    expect(last('db.client.connection.max', 'writer')).to.equal(10)
    expect(last('db.client.connection.used', 'writer')).to.be.a('number')
    expect(last('db.client.connection.utilization', 'writer')).to.be.within(0, 1)
    // The stream was closed before the stop: the last value says so.
    expect(last('sse.connections')).to.equal(0)
    expect(last('outbox.lag')).to.be.at.least(0)
    expect(last('auth.hash_queue.waiting')).to.equal(0)
    expect(last('auth.hash_queue.active')).to.equal(0)
    // The counters of the same export: the login went through.
    const logins = receiver.points.filter(
      (p) => p.metric === 'http.server.request.duration' && p.attributes['http.route'] === '/v1/auth/login',
    )
    expect(logins.at(-1)?.value).to.equal(1)
  })

  it('keeps heartbeats out of the stream trace: only the spans of opening and closing it', () => {
    const spans = receiver.spans.filter((s) => s.traceId === streamTrace)
    expect(spans.length, 'the stream request is traced').to.be.greaterThan(0)
    // Opening the stream (session, stream cap, subscribe) happens before its headers are sent.
    const duringStream = spans.filter((s) => s.startMs > streamOpenedAt && s.startMs < streamClosedAt)
    expect(duringStream.map((s) => s.name)).to.deep.equal([])
    // Nor do heartbeats start traces of their own: no Redis span anywhere lacks a parent.
    const rootRedis = receiver.spans.filter(
      (s) => !s.parentSpanId && (s.attributes['db.system.name'] ?? s.attributes['db.system']) === 'redis',
    )
    expect(rootRedis).to.deep.equal([])
  })
})

describe('telemetry: a collector that never answers', function () {
  this.timeout(120_000)

  it('does not hold a stopping task past the final flush bound', async () => {
    // Accepts connections and never answers: what a hung sidecar looks like to the exporters.
    const sockets = new Set<Socket>()
    const hung = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    const { port } = hung.address() as AddressInfo
    try {
      const server = await startServer(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_TRACES_SAMPLER: 'always_on',
          TRACING_MAX_TRACES_PER_SECOND: '0',
          OTEL_METRIC_EXPORT_INTERVAL: '600000',
        },
        undefined,
        ['--import', './app/src/telemetry/register.ts'],
      )
      await signUp(server.url, 0)
      const stoppedAt = Date.now()
      server.child.kill('SIGTERM')
      expect((await server.exited).code).to.equal(0)
      // The exporters' own timeout is 10 s; the final flush is bounded at 2 s.
      expect(Date.now() - stoppedAt).to.be.below(8000)
    } finally {
      for (const s of sockets) s.destroy()
      hung.close()
    }
  })
})
