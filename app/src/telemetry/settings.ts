/**
 * Which OpenTelemetry settings the service starts with. The SDK reads the standard OTEL_*
 * variables itself (endpoint, protocol, headers, service name, resource attributes, sampler,
 * export intervals); this module only decides whether to start at all and fills in the
 * defaults that differ from the SDK's. It is the one place besides config.ts that reads the
 * environment: it runs in the preload, before the service's configuration exists.
 */

type Env = Record<string, string | undefined>

/** Trace sampling when OTEL_TRACES_SAMPLER is unset: 10% of new traces, follow a sampled caller (within the cap). */
export const DEFAULT_SAMPLER = 'parentbased_traceidratio'
export const DEFAULT_SAMPLER_ARG = '0.1'
/**
 * At most this many new traces a second per instance, and as many continued for callers (see
 * sampler.ts), whatever the sampler; `0` turns the cap off. Under load, a ratio alone would make
 * tracing's cost grow with the traffic it slows down.
 */
export const MAX_TRACES_PER_SECOND = 'TRACING_MAX_TRACES_PER_SECOND'
export const DEFAULT_MAX_TRACES_PER_SECOND = '10'
/** `service.name` when OTEL_SERVICE_NAME is unset. */
export const DEFAULT_SERVICE_NAME = 'blueprint-api'

/** Why telemetry is off, or undefined when it starts. */
export function disabledReason(env: Env): string | undefined {
  if (/^true$/i.test(env.OTEL_SDK_DISABLED?.trim() ?? '')) return 'OTEL_SDK_DISABLED=true'
  const endpoints = [
    env.OTEL_EXPORTER_OTLP_ENDPOINT,
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
  ]
  if (endpoints.every((e) => !e?.trim())) return 'no OTEL_EXPORTER_OTLP_ENDPOINT'
  return undefined
}

/**
 * The defaults this service applies on top of the SDK's: sampling (the SDK's default records
 * every trace, which X-Ray bills per trace and which costs throughput; ours is 10% of new traces,
 * at most 10 a second per instance), no OTLP log export (logs
 * go to stdout and CloudWatch Logs already), and a service name. Values already set win.
 */
export function telemetryDefaults(env: Env): Record<string, string> {
  const defaults: Record<string, string> = {
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_SERVICE_NAME: DEFAULT_SERVICE_NAME,
  }
  if (!env.OTEL_TRACES_SAMPLER?.trim()) {
    defaults.OTEL_TRACES_SAMPLER = DEFAULT_SAMPLER
    defaults.OTEL_TRACES_SAMPLER_ARG = env.OTEL_TRACES_SAMPLER_ARG?.trim() || DEFAULT_SAMPLER_ARG
  }
  // Whatever the sampler: `always_on` to debug an instance under load must not cost it 40% of its
  // throughput unless someone asks for that too (`0`).
  defaults[MAX_TRACES_PER_SECOND] = DEFAULT_MAX_TRACES_PER_SECOND
  return Object.fromEntries(Object.entries(defaults).filter(([name]) => !env[name]?.trim()))
}
