/**
 * The default sampling of the real server process (no OTEL_TRACES_SAMPLER set, as `npm run up`
 * with an endpoint runs it): a client forcing every request with a sampled `traceparent` gets at
 * most the callers' share of traces recorded, the service keeps its own share, and every forced
 * request's log line still carries the caller's trace id.
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import { waitUntil } from '../../../scripts/kit/net.js'
import { type ServerProcess, startServer } from '../helpers/process.js'
import { type OtlpReceiver, startOtlpReceiver } from './receiver.js'

const SERVER = 2 // OTLP SpanKind SERVER
const CAP = 10

describe('telemetry: the default cap on recorded traces, in the server process', function () {
  this.timeout(120_000)
  let receiver: OtlpReceiver
  let server: ServerProcess

  before(async () => {
    receiver = await startOtlpReceiver()
    server = await startServer(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRICS_EXPORTER: 'none',
      },
      undefined,
      ['--import', './app/src/telemetry/register.ts'],
    )
  })

  after(async () => {
    await server?.stop()
    await receiver?.close()
  })

  it('records at most the callers’ share of forced traces and still its own, with every trace id in the logs', async () => {
    expect(server.output()).to.match(/"msg":"telemetry started".*RateCappedSampler\{.*10\/s own/)
    const forced = Array.from({ length: 150 }, () => randomBytes(16).toString('hex'))
    const started = Date.now()
    // A public route that answers without a session: no account needed to force a trace.
    const get = (headers: Record<string, string>) =>
      fetch(`${server.url}/v1/me`, { headers }).then(async (r) => {
        await r.arrayBuffer()
        return r.status
      })
    const statuses = await Promise.all([
      ...forced.map((id) => get({ traceparent: `00-${id}-${randomBytes(8).toString('hex')}-01` })),
      // The service's own picks: 10% of 300 new traces, about 30 (fewer than 6 has odds ~1e-7),
      // which only its own bucket holds: with one shared bucket the flood left it 2-4.
      ...Array.from({ length: 300 }, () => get({})),
    ])
    const seconds = (Date.now() - started) / 1000
    expect(new Set(statuses)).to.deep.equal(new Set([401]))
    const serverSpans = () => receiver.spans.filter((s) => s.kind === SERVER && s.name.endsWith('/v1/me'))
    const completed = () =>
      server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"request completed"'))
        .map((l) => JSON.parse(l) as { trace_id?: string; trace_flags?: string })
    // Export and log lines arrive when the busy machine gets to them: wait until every request has
    // logged and the exported spans have stopped growing for a few export intervals.
    let seen = -1
    let stableSince = Date.now()
    await waitUntil('every log line and a settled span export', 20_000, () => {
      const count = serverSpans().length
      if (count !== seen) {
        seen = count
        stableSince = Date.now()
      }
      return completed().length >= forced.length + 300 && Date.now() - stableSince >= 1000
    })

    const servers = serverSpans()
    const forcedIds = new Set(forced)
    const recordedForced = servers.filter((s) => forcedIds.has(s.traceId)).length
    const recordedOwn = servers.length - recordedForced
    // One bucket each: a second's worth at once, then CAP a second for as long as the burst lasted.
    const bound = CAP + Math.ceil(CAP * seconds)
    expect(recordedForced, `forced traces recorded in ${seconds.toFixed(1)} s`).to.be.within(1, bound)
    expect(recordedForced, 'the cap must have refused some').to.be.below(forced.length)
    expect(recordedOwn, 'the service’s own traces are not crowded out').to.be.within(6, bound)

    // Every forced request, recorded or not, logged the caller's trace id; the capped ones as not
    // sampled (flags 00), the recorded ones as sampled.
    const flags = new Map(completed().map((l) => [l.trace_id, l.trace_flags]))
    expect(forced.filter((id) => !flags.has(id))).to.deep.equal([])
    const recordedIds = new Set(servers.map((s) => s.traceId))
    for (const id of forced) expect(flags.get(id), id).to.equal(recordedIds.has(id) ? '01' : '00')
  })
})
