/**
 * Spans of the service's own background work (outbox relay, SSE delivery): each its own trace,
 * since no request is waiting on it. Without the SDK these are no-ops.
 */
import {
  type Attributes,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import { METER_NAME } from './metrics.js'

/** The service's tracer (same scope name as its meter). */
export function tracer() {
  return trace.getTracer(METER_NAME)
}

/** Options of a background span. */
export interface WorkSpanOptions {
  attributes?: Attributes
  /** When the work began, if before the span could be decided on (epoch ms). */
  startTime?: number
  kind?: SpanKind
}

/** Runs `fn` in a new root span named `name`; errors are recorded on the span and rethrown. */
export function inRootSpan<T>(name: string, options: WorkSpanOptions, fn: (span: Span) => T): T {
  return tracer().startActiveSpan(
    name,
    {
      root: true,
      kind: options.kind ?? SpanKind.INTERNAL,
      attributes: options.attributes,
      startTime: options.startTime,
    },
    (span) => {
      const fail = (err: unknown) => {
        span.recordException(err as Error)
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message })
        span.end()
        throw err
      }
      try {
        const result = fn(span)
        if (result instanceof Promise) {
          return result.then((value) => {
            span.end()
            return value
          }, fail) as T
        }
        span.end()
        return result
      } catch (err) {
        return fail(err)
      }
    },
  )
}

/**
 * `fn` bound to no trace: for timers a request starts that outlive it (an SSE stream's
 * heartbeats: `outsideTrace(setInterval)(tick, ms)`). Without it, each tick's Redis calls would
 * become spans of the stream's trace, which stays open for the stream's life; with no parent,
 * the instrumentations record nothing.
 */
export function outsideTrace<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return context.bind(ROOT_CONTEXT, fn)
}
