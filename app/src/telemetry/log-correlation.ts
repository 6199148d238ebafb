/**
 * Trace ids in log lines: every line written inside a request (or a background span) carries
 * `trace_id`, `span_id` and `trace_flags`, the keys the pino instrumentation used, so CloudWatch
 * Logs Insights and X-Ray join on them. A pino mixin of ours rather than that instrumentation:
 * it must also see the trace of an unsampled request, which runs with no span in context
 * (unsampled-requests.ts) but keeps its span context under a key of its own.
 */
import {
  type Context,
  context,
  createContextKey,
  isSpanContextValid,
  type SpanContext,
  trace,
} from '@opentelemetry/api'

const UNSAMPLED_TRACE = createContextKey('blueprint: trace of an unsampled request')

/** `ctx` without its span, remembering the span's ids for the log lines written under it. */
export function withoutSpan(ctx: Context, spanContext: SpanContext): Context {
  return trace.deleteSpan(ctx).setValue(UNSAMPLED_TRACE, spanContext)
}

/** Pino mixin: the active trace's ids, or nothing outside a trace (and always without the SDK). */
export function logTraceFields(): Record<string, string> {
  const ctx = context.active()
  const ids = trace.getSpanContext(ctx) ?? (ctx.getValue(UNSAMPLED_TRACE) as SpanContext | undefined)
  if (!ids || !isSpanContextValid(ids)) return {}
  return { trace_id: ids.traceId, span_id: ids.spanId, trace_flags: `0${ids.traceFlags.toString(16)}` }
}
