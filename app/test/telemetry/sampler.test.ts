import { type Context, context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api'
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
  const capped = (perSecond: number, clock: { ms: number }) =>
    new RateCappedSampler(
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
      perSecond,
      () => clock.ms,
    )
  const decisions = (s: RateCappedSampler, n: number, parent: Context = ROOT_CONTEXT) =>
    Array.from(
      { length: n },
      () => s.shouldSample(parent, TRACE_ID, 'GET /v1/me', SpanKind.SERVER, {}, []).decision,
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
  })

  it('caps a caller’s sampled traceparent too, but never a span inside a trace it records', () => {
    const clock = { ms: 0 }
    const s = capped(2, clock)
    expect(recorded(decisions(s, 5, remoteSampled))).to.equal(2)
    expect(recorded(decisions(s, 5, inRequest)), 'children of a recorded local span').to.equal(5)
    expect(decisions(s, 1)[0], 'no token left for a new root').to.equal(SamplingDecision.NOT_RECORD)
  })

  it('is the default: 10% of new traces, at most 10 a second; an explicit sampler is not capped unless asked', () => {
    const defaults = telemetryDefaults({})
    expect(defaults).to.include({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      [MAX_TRACES_PER_SECOND]: DEFAULT_MAX_TRACES_PER_SECOND,
    })
    expect(samplerFromEnv(defaults)).to.be.instanceOf(RateCappedSampler)
    const explicit = { OTEL_TRACES_SAMPLER: 'always_on' }
    expect(telemetryDefaults(explicit)).to.not.have.property(MAX_TRACES_PER_SECOND)
    expect(samplerFromEnv(explicit)).to.not.be.instanceOf(RateCappedSampler)
    expect(samplerFromEnv({ ...explicit, [MAX_TRACES_PER_SECOND]: '5' })).to.be.instanceOf(RateCappedSampler)
    expect(
      samplerFromEnv({ ...defaults, [MAX_TRACES_PER_SECOND]: '0' }),
      '0 turns the cap off',
    ).to.not.be.instanceOf(RateCappedSampler)
  })

  it('records now and then under a cap below one a second, and ignores a value that is not a number', () => {
    const clock = { ms: 0 }
    const s = capped(0.5, clock)
    expect(recorded(decisions(s, 3))).to.equal(1)
    clock.ms += 1000
    expect(recorded(decisions(s, 3))).to.equal(0)
    clock.ms += 1000
    expect(recorded(decisions(s, 3))).to.equal(1)
    expect(samplerFromEnv({ [MAX_TRACES_PER_SECOND]: 'ten' })).to.not.be.instanceOf(RateCappedSampler)
  })
})
