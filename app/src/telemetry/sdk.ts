/**
 * The OpenTelemetry SDK for this service, assembled from its parts: the trace SDK with a batch
 * span processor, the metrics SDK with a periodic reader, OTLP/HTTP exporters, and exactly the
 * instrumentations the service needs. Endpoint, headers, protocol, resource, sampler and batch
 * settings come from the standard OTEL_* variables. Loaded only by the preload (register.ts), and
 * only when telemetry is on, so a service without an endpoint never loads it.
 *
 * Not `@opentelemetry/sdk-node`: it loads every exporter (gRPC, Zipkin, Prometheus), the logs SDK
 * and all resource detectors whether used or not, and gives the instrumentations the real meter
 * provider, so pg and http record metrics of their own on every query and request.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { createNoopMeter, type MeterProvider, metrics, type Span } from '@opentelemetry/api'
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core'
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk'
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  type Resource,
} from '@opentelemetry/resources'
import {
  AggregationType,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  MeterProvider as SdkMeterProvider,
} from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { PrismaInstrumentation } from '@prisma/instrumentation'
import type { FastifyRequest } from 'fastify'
import { onTelemetryShutdown } from './lifecycle.js'
import { METER_NAME, REQUEST_DURATION } from './metrics.js'
import { RequestScopedSampler, samplerFromEnv } from './sampler.js'

type Env = Record<string, string | undefined>

/** Load balancer probes: frequent, uninteresting, and they would dominate the sampled traces. */
const HEALTH_PATH = /^\/health\//

/**
 * The instrumentations' own metrics go nowhere: the service records request metrics itself (by
 * route, which theirs lack), and pg's per-query histogram would cost every query an attribute
 * hash and a histogram update for a metric no alarm reads.
 */
const NO_METRICS: MeterProvider = { getMeter: () => createNoopMeter() }

/**
 * Names a recorded server span `METHOD /route` (only the method when no route matched), and keeps
 * the query string out of `url.path` (search terms are personal data).
 */
function nameByRoute(span: Span, request: FastifyRequest): void {
  if (!span.isRecording()) return
  const route = request.routeOptions.url
  span.updateName(route ? `${request.method} ${route}` : request.method)
  const query = request.url.indexOf('?')
  if (query >= 0) span.setAttribute('url.path', request.url.slice(0, query))
}

/** What this module needs of an instrumentation (each patches its module when constructed). */
interface Instrumentation {
  setMeterProvider(meterProvider: MeterProvider): void
}

/**
 * Every library whose calls become spans, less those OTEL_NODE_DISABLED_INSTRUMENTATIONS names
 * (comma-separated: fastify, pg, ioredis, prisma, aws). Trace ids in log lines are the
 * logger's own (log-correlation.ts). Only the enabled ones are
 * constructed: an instrumentation patches its module as soon as it exists.
 */

/** At most this long for the final export at shutdown (server.ts exits right after). */
const FINAL_FLUSH_TIMEOUT_MS = 2000
export function instrumentations(env: Env = process.env): Instrumentation[] {
  const disabled = new Set((env.OTEL_NODE_DISABLED_INSTRUMENTATIONS ?? '').split(',').map((s) => s.trim()))
  return catalogue()
    .filter(([name]) => !disabled.has(name))
    .map(([, create]) => {
      const instrumentation = create()
      instrumentation.setMeterProvider(NO_METRICS)
      return instrumentation
    })
}

function catalogue(): [string, () => Instrumentation][] {
  return [
    // The server span of each request (W3C trace context extracted from its headers), named by
    // route (`GET /v1/accounts/:id`). No span per hook or per handler: each would cost every
    // request a span and a context switch for what the server span already says.
    [
      'fastify',
      () =>
        new FastifyOtelInstrumentation({
          registerOnInitialization: true,
          instrumentHooks: false,
          instrumentHandler: false,
          ignorePaths: (route) => HEALTH_PATH.test(route.url),
          requestHook: nameByRoute,
        }),
    ],
    // Background polls (replica lag, relay, sweeps) run outside a request: no root span for each.
    ['pg', () => new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true })],
    [
      'ioredis',
      () =>
        new IORedisInstrumentation({
          requireParentSpan: true,
          // The command name only: arguments are session tokens, rate-limit keys and payloads
          // (secrets in a trace store), and serializing them cost every command, sampled or not.
          dbStatementSerializer: (command) => command,
        }),
    ],
    [
      'prisma',
      () =>
        new PrismaInstrumentation({
          ignoreSpanTypes: ['prisma:client:serialize', 'prisma:client:connect'],
        }),
    ],
    ['aws', () => new AwsInstrumentation({ suppressInternalInstrumentation: true })],
  ]
}

/** The OTLP/HTTP flavour OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL asks for (gRPC is not shipped). */
export function otlpProtocol(env: Env, signal: 'TRACES' | 'METRICS'): 'http/json' | 'http/protobuf' {
  const value = (env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim()
  if (value === 'http/json') return 'http/json'
  if (value && value !== 'http/protobuf') {
    console.warn(`OTEL_EXPORTER_OTLP_PROTOCOL=${value} is not supported here; using http/protobuf`)
  }
  return 'http/protobuf'
}

/** Whether OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER turns a signal off (`none`). */
function exporterOff(env: Env, variable: string): boolean {
  return env[variable]?.trim() === 'none'
}

async function spanExporter(env: Env): Promise<SpanExporter> {
  // Exporters read endpoint, headers, timeout and compression from the environment themselves.
  if (otlpProtocol(env, 'TRACES') === 'http/json') {
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
  }
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter()
}

async function metricExporter(env: Env): Promise<PushMetricExporter> {
  if (otlpProtocol(env, 'METRICS') === 'http/json') {
    return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter()
  }
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter()
}

/** Milliseconds from a variable, or the fallback when it is unset or not a positive integer. */
function millis(env: Env, name: string, fallback: number): number {
  const value = Number(env[name])
  return Number.isInteger(value) && value > 0 ? value : fallback
}

/** `service.name` and OTEL_RESOURCE_ATTRIBUTES (env), the host and the process, over the SDK's defaults. */
function resource(): Resource {
  return defaultResource().merge(detectResources({ detectors: [envDetector, hostDetector, processDetector] }))
}

/** Starts tracing and metrics with this service's instrumentations and views; registers its shutdown. */
export async function startSdk(env: Env = process.env): Promise<void> {
  const shared = resource()
  // OTEL_TRACES_EXPORTER=none turns tracing off altogether: no tracer provider, no instrumentation, so
  // metrics alone cost only themselves (and `npm run bench:tracing` can price tracing on top of them).
  const tracing = !exporterOff(env, 'OTEL_TRACES_EXPORTER')
  const sampler = tracing ? new RequestScopedSampler(samplerFromEnv(env)) : undefined
  // Which sampler and cap an instance runs with shows nowhere else (pino's shape, before pino exists).
  console.log(
    JSON.stringify({
      level: 30,
      time: Date.now(),
      msg: 'telemetry started',
      traces: sampler ? sampler.toString() : 'off (OTEL_TRACES_EXPORTER=none)',
      metrics: exporterOff(env, 'OTEL_METRICS_EXPORTER') ? 'off (OTEL_METRICS_EXPORTER=none)' : 'on',
    }),
  )
  const tracerProvider = sampler
    ? new NodeTracerProvider({
        resource: shared,
        sampler,
        // Batch size, queue and delay from OTEL_BSP_* (read by the processor).
        spanProcessors: [new BatchSpanProcessor(await spanExporter(env))],
      })
    : undefined
  tracerProvider?.register({
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  })

  const interval = millis(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000)
  const meterProvider = new SdkMeterProvider({
    resource: shared,
    readers: exporterOff(env, 'OTEL_METRICS_EXPORTER')
      ? []
      : [
          new PeriodicExportingMetricReader({
            exporter: await metricExporter(env),
            exportIntervalMillis: interval,
            exportTimeoutMillis: Math.min(interval, millis(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000)),
          }),
        ],
    views: [
      // Exponential buckets carry the distribution through EMF, so CloudWatch can compute p95/p99
      // (an explicit-bucket histogram reaches CloudWatch as min/max/sum/count only).
      {
        instrumentName: REQUEST_DURATION,
        meterName: METER_NAME,
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  })
  metrics.setGlobalMeterProvider(meterProvider)

  if (tracing) instrumentations(env)
  onTelemetryShutdown(async () => {
    // The last flush gets a bounded wait: with the collector down, the exporters' own timeouts
    // (10 s and more) would spend the stop budget ECS gives the task after draining.
    const flush = Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown()])
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FINAL_FLUSH_TIMEOUT_MS)
      timer.unref()
    })
    await Promise.race([flush, bound])
    clearTimeout(timer)
  })
}
