/**
 * The OpenTelemetry SDK for this service: which libraries are instrumented and how, and the
 * metric views. Exporters, protocol, endpoint, resource and sampler come from the standard
 * OTEL_* variables (read by the SDK). Loaded only by the preload (register.ts), and only when
 * telemetry is on, so a service without an endpoint never loads it.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino'
import { NodeSDK, metrics as sdkMetrics } from '@opentelemetry/sdk-node'
import { PrismaInstrumentation } from '@prisma/instrumentation'
import { onTelemetryShutdown } from './lifecycle.js'
import { METER_NAME, REQUEST_DURATION } from './metrics.js'
import { RequestScopedSampler, samplerFromEnv } from './sampler.js'

/** Load balancer probes: frequent, uninteresting, and they would dominate the sampled traces. */
const HEALTH_PATH = /^\/health\//

type Instrumentations = NonNullable<NonNullable<ConstructorParameters<typeof NodeSDK>[0]>['instrumentations']>

/**
 * Every library whose calls become spans, less those OTEL_NODE_DISABLED_INSTRUMENTATIONS names
 * (comma-separated: http, fastify, pg, ioredis, prisma, aws, pino). Only the enabled ones are
 * constructed: an instrumentation patches its module as soon as it exists.
 */
export function instrumentations(env: Record<string, string | undefined> = process.env): Instrumentations {
  const disabled = new Set((env.OTEL_NODE_DISABLED_INSTRUMENTATIONS ?? '').split(',').map((s) => s.trim()))
  return catalogue()
    .filter(([name]) => !disabled.has(name))
    .map(([, create]) => create())
}

function catalogue(): [string, () => Instrumentations[number]][] {
  return [
    // The server span of each request: starts before Fastify sees the request, so every log line
    // of it (Fastify's "incoming request" included) carries the trace id.
    [
      'http',
      () =>
        new HttpInstrumentation({
          ignoreIncomingRequestHook: (req) => HEALTH_PATH.test(req.url ?? ''),
          // Background work (writer-endpoint polling in SSM) would otherwise start a trace per poll.
          requireParentforOutgoingSpans: true,
        }),
    ],
    // Names the server span by route (`GET /v1/accounts/:id`) and adds one span per request with
    // the route; one span per hook would cost more than it tells.
    [
      'fastify',
      () =>
        new FastifyOtelInstrumentation({
          registerOnInitialization: true,
          instrumentHooks: false,
          ignorePaths: (route) => HEALTH_PATH.test(route.url),
        }),
    ],
    // Background polls (replica lag, relay, sweeps) run outside a request: no root span for each.
    ['pg', () => new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true })],
    ['ioredis', () => new IORedisInstrumentation({ requireParentSpan: true })],
    ['prisma', () => new PrismaInstrumentation({ ignoreSpanTypes: ['prisma:client:serialize'] })],
    ['aws', () => new AwsInstrumentation({ suppressInternalInstrumentation: true })],
    // Adds trace_id / span_id to log lines written inside a span; logs still go to stdout only.
    ['pino', () => new PinoInstrumentation({ disableLogSending: true })],
  ]
}

/** Starts the SDK with this service's instrumentations and views; registers its shutdown. */
export function startSdk(): NodeSDK {
  const sdk = new NodeSDK({
    instrumentations: instrumentations(),
    sampler: new RequestScopedSampler(samplerFromEnv(process.env)),
    views: [
      // Exponential buckets carry the distribution through EMF, so CloudWatch can compute p95/p99
      // (an explicit-bucket histogram reaches CloudWatch as min/max/sum/count only).
      {
        instrumentName: REQUEST_DURATION,
        meterName: METER_NAME,
        aggregation: { type: sdkMetrics.AggregationType.EXPONENTIAL_HISTOGRAM },
      },
      // The HTTP instrumentation's own duration metric lacks the route; ours replaces it.
      {
        meterName: '@opentelemetry/instrumentation-http',
        aggregation: { type: sdkMetrics.AggregationType.DROP },
      },
    ],
  })
  sdk.start()
  onTelemetryShutdown(() => sdk.shutdown())
  return sdk
}
