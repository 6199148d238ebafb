/**
 * Trace sampling: the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG choices, plus one
 * rule of ours: background work that no request started (outbox polls, replica lag checks,
 * retention sweeps, metric collection, the writer-endpoint poll in SSM) never starts a trace.
 * Prisma and the AWS SDK have no "require a parent" switch like the pg and ioredis
 * instrumentations, so each of their background calls would otherwise be a trace of its own:
 * root Prisma spans and root client spans are dropped (a client call without a parent is, here,
 * always background work; the service's own background spans are INTERNAL or CONSUMER roots).
 */
import { type Context, SpanKind, trace } from '@opentelemetry/api'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'

type Env = Record<string, string | undefined>

/** Root spans of these names are background database work, not worth a trace. */
const BACKGROUND_ROOT = /^prisma:/

/** The sampler OTEL_TRACES_SAMPLER names (the SDK's default, parentbased_always_on, when unset). */
export function samplerFromEnv(env: Env): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on'
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG)
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler()
    case 'always_off':
      return new AlwaysOffSampler()
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio)
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) })
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
  }
}

/** Drops root spans of background database work; defers everything else to `inner`. */
export class RequestScopedSampler implements Sampler {
  constructor(private readonly inner: Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    ...rest: Parameters<Sampler['shouldSample']> extends [unknown, unknown, unknown, unknown, ...infer R]
      ? R
      : never
  ): SamplingResult {
    if (!trace.getSpanContext(context) && (spanKind === SpanKind.CLIENT || BACKGROUND_ROOT.test(spanName))) {
      return { decision: SamplingDecision.NOT_RECORD }
    }
    return this.inner.shouldSample(context, traceId, spanName, spanKind, ...rest)
  }

  toString(): string {
    return `RequestScopedSampler{${this.inner.toString()}}`
  }
}
