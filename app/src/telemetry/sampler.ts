/**
 * Trace sampling: the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG choices, a cap on new
 * traces per second (TRACING_MAX_TRACES_PER_SECOND; on by default, see RateCappedSampler), plus one
 * rule of ours: background work that no request started (outbox polls, replica lag checks,
 * retention sweeps, metric collection, the writer-endpoint poll in SSM) never starts a trace.
 * Prisma and the AWS SDK have no "require a parent" switch like the pg and ioredis
 * instrumentations, so each of their background calls would otherwise be a trace of its own:
 * root Prisma spans and root client spans are dropped (a client call without a parent is, here,
 * always background work; the service's own background spans are INTERNAL or CONSUMER roots).
 */
import { performance } from 'node:perf_hooks'
import { type Attributes, type Context, type Link, SpanKind, trace } from '@opentelemetry/api'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import { MAX_TRACES_PER_SECOND } from './settings.js'

type Env = Record<string, string | undefined>

/** Root spans of these names are background database work, not worth a trace. */
const BACKGROUND_ROOT = /^prisma:/

/**
 * The sampler OTEL_TRACES_SAMPLER names (the SDK's default, parentbased_always_on, when unset),
 * capped at TRACING_MAX_TRACES_PER_SECOND new traces a second when that is a positive number.
 */
export function samplerFromEnv(env: Env): Sampler {
  const sampler = namedSampler(env)
  const raw = env[MAX_TRACES_PER_SECOND]?.trim()
  if (!raw || raw === '0') return sampler
  const perSecond = Number(raw)
  if (!Number.isFinite(perSecond) || perSecond < 0) {
    console.warn(`${MAX_TRACES_PER_SECOND}=${raw} is not a number of traces per second; no cap`)
    return sampler
  }
  return new RateCappedSampler(sampler, perSecond)
}

function namedSampler(env: Env): Sampler {
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

/**
 * At most `perSecond` new traces a second (a token bucket holding one second's worth), whatever
 * the inner sampler would record. A ratio alone makes tracing cost a fixed share of every request,
 * so at saturation it takes throughput exactly when it is scarcest; capped, the share falls as the
 * traffic grows (10% of 50 req/s is 5 traces a second; at 2,000 req/s, 10 is 0.5%). The cap counts
 * a caller's sampled `traceparent` too: on a public API anyone sets that flag, and following it
 * unconditionally would let a client make every request cost a full trace. A request over the
 * cap keeps its trace id (and its log lines carry it); only its spans are not recorded. Spans
 * inside a trace this process already records are never capped, so no trace loses a part.
 */
export class RateCappedSampler implements Sampler {
  private tokens: number
  private last: number
  /** One second's worth, and at least one trace (a cap below 1/s still records now and then). */
  private readonly capacity: number

  constructor(
    private readonly inner: Sampler,
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(1, perSecond)
    this.tokens = this.capacity
    this.last = now()
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const result = this.inner.shouldSample(context, traceId, spanName, spanKind, attributes, links)
    if (result.decision !== SamplingDecision.RECORD_AND_SAMPLED) return result
    const parent = trace.getSpanContext(context)
    if (parent && !parent.isRemote) return result
    return this.take() ? result : { decision: SamplingDecision.NOT_RECORD }
  }

  private take(): boolean {
    const now = this.now()
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  toString(): string {
    return `RateCappedSampler{${this.inner.toString()}, ${this.perSecond}/s}`
  }
}
