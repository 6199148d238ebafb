import { context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api'
import { SamplingDecision } from '@opentelemetry/sdk-trace-base'
import { expect } from 'chai'
import { RequestScopedSampler, samplerFromEnv } from '../../src/telemetry/sampler.js'

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
