import { type Context, context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api'
import { TraceState } from '@opentelemetry/core'
import { SamplingDecision } from '@opentelemetry/sdk-trace-base'
import { expect } from 'chai'
import { RateCappedSampler, RequestScopedSampler, samplerFromEnv } from '../../src/telemetry/sampler.js'
import {
  DEFAULT_MAX_TRACES_PER_SECOND,
  MAX_TRACES_PER_SECOND,
  telemetryDefaults,
} from '../../src/telemetry/settings.js'

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const sampler = new RequestScopedSampler(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }))
const decide = (name: string, kind: SpanKind, parent = ROOT_CONTEXT) =>
  sampler.shouldSample(parent, TRACE_ID, name, kind, {}, []).decision
const inRequest = trace.setSpanContext(context.active(), {
  traceId: TRACE_ID,
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
})

describe('telemetry: the request-scoped sampler', () => {
  it('starts no trace for background work: a root Prisma span or a root client call (an SSM poll)', () => {
    expect(decide('prisma:client:operation', SpanKind.INTERNAL)).to.equal(SamplingDecision.NOT_RECORD)
    expect(decide('SSM.GetParameter', SpanKind.CLIENT)).to.equal(SamplingDecision.NOT_RECORD)
  })

  it('records the same spans inside a request, and the service’s own background roots', () => {
    expect(decide('prisma:client:operation', SpanKind.INTERNAL, inRequest)).to.equal(
      SamplingDecision.RECORD_AND_SAMPLED,
    )
    expect(decide('SSM.GetParameter', SpanKind.CLIENT, inRequest)).to.equal(
      SamplingDecision.RECORD_AND_SAMPLED,
    )
    expect(decide('GET /v1/accounts', SpanKind.SERVER)).to.equal(SamplingDecision.RECORD_AND_SAMPLED)
    expect(decide('outbox.relay', SpanKind.INTERNAL)).to.equal(SamplingDecision.RECORD_AND_SAMPLED)
    expect(decide('sse.deliver', SpanKind.CONSUMER)).to.equal(SamplingDecision.RECORD_AND_SAMPLED)
  })
})

describe('telemetry: the cap on new traces per second', () => {
  const remoteSampled = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  })
  const capped = (perSecond: number, clock: { ms: number }, env: Record<string, string> = {}) =>
    new RateCappedSampler(
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on', ...env }),
      perSecond,
      () => clock.ms,
    )
  const decisions = (s: RateCappedSampler, n: number, parent: Context = ROOT_CONTEXT, traceId = TRACE_ID) =>
    Array.from(
      { length: n },
      () => s.shouldSample(parent, traceId, 'GET /v1/me', SpanKind.SERVER, {}, []).decision,
    )
  const recorded = (ds: SamplingDecision[]) =>
    ds.filter((d) => d === SamplingDecision.RECORD_AND_SAMPLED).length

  it('records at most one second’s worth at once, then as many a second as it allows', () => {
    const clock = { ms: 0 }
    const s = capped(10, clock)
    expect(recorded(decisions(s, 50))).to.equal(10)
    clock.ms += 500
    expect(recorded(decisions(s, 50)), 'half a second refills half').to.equal(5)
    clock.ms += 60_000
    expect(recorded(decisions(s, 50)), 'a long pause refills no more than the bucket').to.equal(10)
    clock.ms -= 5_000
    expect(recorded(decisions(s, 1)), 'a clock stepping back neither refills nor drains').to.equal(0)
    clock.ms += 5_100
    expect(recorded(decisions(s, 5))).to.equal(1)
  })

  it('gives callers’ sampled traceparents a bucket of their own: a flood of them leaves the service’s own traces', () => {
    const clock = { ms: 0 }
    const s = capped(2, clock)
    expect(recorded(decisions(s, 100, remoteSampled)), 'a client forcing every request').to.equal(2)
    expect(recorded(decisions(s, 5)), 'the service’s own roots still get their share').to.equal(2)
    expect(
      recorded(decisions(s, 5, inRequest)),
      'children of a recorded local span are never capped',
    ).to.equal(5)
  })

  it('counts a parent with an invalid span context as no parent: the service’s own bucket', () => {
    const clock = { ms: 0 }
    const s = capped(2, clock)
    const invalid = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '00000000000000000000000000000000',
      spanId: '0000000000000000',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    })
    expect(recorded(decisions(s, 5, invalid))).to.equal(2)
    expect(recorded(decisions(s, 5)), 'the own bucket paid for them').to.equal(0)
    expect(recorded(decisions(s, 5, remoteSampled)), 'the callers’ bucket did not').to.equal(2)
  })

  it('spends no token on a trace its ratio does not pick, and keeps the inner decision’s trace state', () => {
    const clock = { ms: 0 }
    const s = capped(1, clock, {
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    })
    // The ratio sampler XORs the id's four 32-bit words: 0xffffffff is never picked, 1 always.
    expect(recorded(decisions(s, 20, ROOT_CONTEXT, 'ffffffff000000000000000000000000'))).to.equal(0)
    expect(recorded(decisions(s, 1, ROOT_CONTEXT, '00000000000000000000000000000001'))).to.equal(1)
    const traceState = new TraceState('vendor=x')
    const inner = {
      shouldSample: () => ({ decision: SamplingDecision.RECORD_AND_SAMPLED, traceState }),
      toString: () => 'x',
    }
    const keeping = new RateCappedSampler(inner, 1, () => clock.ms)
    const [first, second] = [0, 1].map(() =>
      keeping.shouldSample(ROOT_CONTEXT, TRACE_ID, 'x', SpanKind.SERVER, {}, []),
    )
    expect(first?.traceState).to.equal(traceState)
    expect(second).to.deep.include({ decision: SamplingDecision.NOT_RECORD, traceState })
  })

  it('is on by default whatever the sampler (10 a second); 0 turns it off, nonsense keeps the default', () => {
    const defaults = telemetryDefaults({})
    expect(defaults).to.include({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      [MAX_TRACES_PER_SECOND]: DEFAULT_MAX_TRACES_PER_SECOND,
    })
    expect(samplerFromEnv(defaults)).to.be.instanceOf(RateCappedSampler)
    const debugging = { OTEL_TRACES_SAMPLER: 'always_on' }
    expect(samplerFromEnv({ ...debugging, ...telemetryDefaults(debugging) })).to.be.instanceOf(
      RateCappedSampler,
    )
    for (const off of ['0', '0.0', '00', '-0', '0e0']) {
      expect(samplerFromEnv({ ...debugging, [MAX_TRACES_PER_SECOND]: off }), off).to.not.be.instanceOf(
        RateCappedSampler,
      )
    }
    expect(
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'ALWAYS_OFF' }).toString(),
      'names are case-insensitive',
    ).to.contain('AlwaysOff')
    for (const nonsense of ['ten', '-1', 'Infinity']) {
      const sampler = samplerFromEnv({ ...debugging, [MAX_TRACES_PER_SECOND]: nonsense })
      expect(sampler.toString(), nonsense).to.contain(`${DEFAULT_MAX_TRACES_PER_SECOND}/s`)
    }
  })

  it('records now and then under a cap below one a second', () => {
    const clock = { ms: 0 }
    const s = capped(0.5, clock)
    expect(recorded(decisions(s, 3))).to.equal(1)
    clock.ms += 1000
    expect(recorded(decisions(s, 3))).to.equal(0)
    clock.ms += 1000
    expect(recorded(decisions(s, 3))).to.equal(1)
  })
})
