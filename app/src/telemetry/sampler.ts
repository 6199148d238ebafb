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
import {
  type Attributes,
  type Context,
  isSpanContextValid,
  type Link,
  SpanKind,
  trace,
} from '@opentelemetry/api'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import { DEFAULT_MAX_TRACES_PER_SECOND, MAX_TRACES_PER_SECOND } from './settings.js'

type Env = Record<string, string | undefined>

/** Root spans of these names are background database work, not worth a trace. */
const BACKGROUND_ROOT = /^prisma:/

/**
 * The sampler OTEL_TRACES_SAMPLER names (the SDK's default, parentbased_always_on, when unset),
 * capped by TRACING_MAX_TRACES_PER_SECOND (RateCappedSampler): `0` turns the cap off; a value that
 * is not a number of traces a second keeps the default cap, with a warning.
 */
export function samplerFromEnv(env: Env): Sampler {
  const sampler = namedSampler(env)
  const raw = env[MAX_TRACES_PER_SECOND]?.trim()
  if (!raw) return sampler
  const perSecond = Number(raw)
  if (perSecond === 0) return sampler
  if (!Number.isFinite(perSecond) || perSecond < 0) {
    console.warn(
      `${MAX_TRACES_PER_SECOND}=${raw} is not a number of traces a second (0 turns the cap off); using ${DEFAULT_MAX_TRACES_PER_SECOND}`,
    )
    return new RateCappedSampler(sampler, Number(DEFAULT_MAX_TRACES_PER_SECOND))
  }
  return new RateCappedSampler(sampler, perSecond)
}

function namedSampler(env: Env): Sampler {
  // Enum values of OTEL_* variables are case-insensitive (the specification's configuration rules).
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on'
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
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    default:
      // The specification's answer to a name the SDK does not know: say so, use the SDK's default.
      console.warn(`OTEL_TRACES_SAMPLER=${name} is not supported here; using parentbased_always_on`)
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
 * At most `perSecond` new traces a second (token buckets holding one second's worth), whatever the
 * inner sampler would record. A ratio alone makes tracing cost a fixed share of every request, so
 * at saturation it takes throughput exactly when it is scarcest; capped, the share falls as the
 * traffic grows (10% of 50 req/s is 5 traces a second; at 2,000 req/s, 10 is 0.5%).
 *
 * Two buckets: traces this instance starts (its ratio's picks, its background work) and traces it
 * continues for a caller's sampled `traceparent`. On a public API anyone sets that flag: following
 * it unconditionally would let a client make every request cost a full trace, and one shared
 * bucket would let it crowd out every trace of the service's own choosing. So at most twice the
 * cap is recorded, and the callers can take only their half. A request over the cap keeps its
 * trace id (its log lines carry it); only its spans are not recorded. Spans under a span this
 * instance records are never capped; a caller's next request in the same trace is a new
 * continuation and takes a token of its own.
 */
export class RateCappedSampler implements Sampler {
  private readonly own: TokenBucket
  private readonly followed: TokenBucket

  constructor(
    private readonly inner: Sampler,
    private readonly perSecond: number,
    now: () => number = () => performance.now(),
  ) {
    this.own = new TokenBucket(perSecond, now)
    this.followed = new TokenBucket(perSecond, now)
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
    const valid = parent !== undefined && isSpanContextValid(parent)
    if (valid && !parent.isRemote) return result
    const bucket = valid ? this.followed : this.own
    return bucket.take() ? result : { decision: SamplingDecision.NOT_RECORD, traceState: result.traceState }
  }

  toString(): string {
    return `RateCappedSampler{${this.inner.toString()}, ${this.perSecond}/s own + ${this.perSecond}/s continued}`
  }
}

/** `perSecond` tokens a second, at most one second's worth (and at least one) held. */
class TokenBucket {
  private readonly capacity: number
  private tokens: number
  private last: number

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {
    this.capacity = Math.max(1, perSecond)
    this.tokens = this.capacity
    this.last = now()
  }

  take(): boolean {
    const now = this.now()
    // A clock that stepped back refills nothing until it passes the last reading again.
    const elapsed = Math.max(0, now - this.last)
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1000) * this.perSecond)
    this.last = Math.max(this.last, now)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
