/**
 * The service's own telemetry in AWS: the collector sidecar's configuration (ours, from
 * infra/collector/config.yaml), the log group its EMF metrics land in, exactly the permissions
 * the collector needs, the alarms on the service's metrics, and a dashboard of them.
 *
 * The service exports OTLP to the sidecar on localhost:4318; traces go to X-Ray, metrics become
 * CloudWatch metrics in `metricsNamespace(name)` through EMF log events.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import {
  DEFAULT_MAX_TRACES_PER_SECOND,
  DEFAULT_SAMPLER,
  DEFAULT_SAMPLER_ARG,
  DEFAULT_SERVICE_NAME,
  MAX_TRACES_PER_SECOND,
} from '../../app/src/telemetry/settings.js'

const CONFIG_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../collector/config.yaml')

/** `service.name` the service reports (the alarms' dimension; set explicitly on the task). */
export const SERVICE_NAME = DEFAULT_SERVICE_NAME

/** Where the sidecar listens (loopback, OTLP/HTTP; infra/collector/config.yaml). */
export const COLLECTOR_ENDPOINT = 'http://localhost:4318'

/**
 * The standard OTEL_* variables of the service container: the sidecar as endpoint, the service
 * name the alarms select on, the resource every span and metric carries (region, stack, project,
 * so X-Ray and CloudWatch tell the two regions apart), and the sampling, written out so a task
 * definition says what it does rather than relying on the image's defaults.
 */
export function serviceTelemetryEnvironment(region: string): Record<string, string> {
  const resource = {
    'cloud.provider': 'aws',
    'cloud.platform': 'aws_ecs',
    'cloud.region': region,
    'deployment.environment.name': pulumi.getStack(),
    'service.namespace': pulumi.getProject(),
  }
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: COLLECTOR_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_SERVICE_NAME: SERVICE_NAME,
    // key=value pairs, comma-separated; these values need no percent-encoding.
    OTEL_RESOURCE_ATTRIBUTES: Object.entries(resource)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    OTEL_TRACES_SAMPLER: DEFAULT_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG: DEFAULT_SAMPLER_ARG,
    // Written out with the sampler, so the task definition says what the instance records.
    [MAX_TRACES_PER_SECOND]: DEFAULT_MAX_TRACES_PER_SECOND,
  }
}

/** CloudWatch namespace of the service's metrics in a region. */
export function metricsNamespace(name: string): string {
  return `${name}/service`
}

/** Log group the collector writes EMF events to. */
export function metricsLogGroupName(name: string): string {
  return `/blueprint/${name}/metrics`
}

/** The collector configuration shipped with the infrastructure. */
export function collectorConfig(): string {
  return readFileSync(CONFIG_FILE, 'utf8')
}

/**
 * Environment of the collector sidecar: ADOT reads its configuration from AOT_CONFIG_CONTENT
 * (no image of our own to build, no SSM parameter to read at start), and the config's
 * `${env:...}` references from the rest. A config change is a new task definition revision.
 */
export function collectorEnvironment(name: string, region: string): Record<string, string> {
  return {
    AOT_CONFIG_CONTENT: collectorConfig(),
    AWS_REGION: region,
    METRICS_NAMESPACE: metricsNamespace(name),
    METRICS_LOG_GROUP: metricsLogGroupName(name),
  }
}

export interface TelemetryArgs {
  region: string
  /** Task role of the service; the collector sidecar runs with it. */
  taskRoleName: pulumi.Input<string>
  /** Encrypts the metrics log group (its key policy admits CloudWatch Logs). */
  kmsKeyArn: pulumi.Input<string>
  /** Alarm topic of the region. */
  alarmTopicArn: pulumi.Input<string>
  /**
   * Retention of the EMF log events; the metrics themselves live on in CloudWatch.
   * Cost: EMF events are billed as log ingestion; a short retention keeps storage small.
   * @default 7
   */
  metricsLogRetentionDays?: number
  /** Server errors (5xx) as a share of requests, in percent. @default 1 */
  errorRatePercent?: number
  /** p95 request duration measured in the service, ms. @default 500 */
  p95LatencyMs?: number
  /** Busiest writer pool: connections in use as a share of the pool size, percent. @default 80 */
  poolSaturationPercent?: number
  /** Requests refused by load shedding as a share of requests, percent. @default 5 */
  shedPercent?: number
  /** Age of the oldest unrelayed outbox event, seconds (notifications are late). @default 60 */
  outboxLagSeconds?: number
}

/** Collector log group and permissions, service-metric alarms and the service dashboard. */
export class Telemetry extends pulumi.ComponentResource {
  readonly metricsLogGroupName: pulumi.Output<string>
  readonly namespace: string

  constructor(name: string, args: TelemetryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:telemetry:Telemetry', name, {}, opts)
    const parent = { parent: this }
    this.namespace = metricsNamespace(name)

    const logGroup = createLogGroup()
    createCollectorPolicy(logGroup)
    createAlarms(this.namespace)
    createDashboard(this.namespace)

    this.metricsLogGroupName = logGroup.name
    this.registerOutputs({ metricsLogGroupName: logGroup.name })

    function createLogGroup() {
      return new aws.cloudwatch.LogGroup(
        `${name}-metrics-logs`,
        {
          name: metricsLogGroupName(name),
          retentionInDays: args.metricsLogRetentionDays ?? 7,
          kmsKeyId: args.kmsKeyArn,
        },
        parent,
      )
    }

    function createCollectorPolicy(group: aws.cloudwatch.LogGroup) {
      new aws.iam.RolePolicy(
        `${name}-collector`,
        {
          role: args.taskRoleName,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [
              // X-Ray has no resource-level permissions. Sampling is decided in the service, so
              // the collector needs no GetSampling* calls; it sends no telemetry records.
              { Effect: 'Allow', Action: 'xray:PutTraceSegments', Resource: '*' },
              // The group exists (above): the exporter only opens its stream and writes.
              {
                Effect: 'Allow',
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: pulumi.interpolate`${group.arn}:log-stream:*`,
              },
            ],
          }),
        },
        parent,
      )
    }

    function createAlarms(namespace: string) {
      const service = { 'service.name': SERVICE_NAME }
      const common = {
        comparisonOperator: 'GreaterThanThreshold',
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        alarmActions: [args.alarmTopicArn],
        okActions: [args.alarmTopicArn],
      }
      const metric = (metricName: string, stat: string, dimensions: Record<string, string> = {}) => ({
        namespace,
        metricName,
        dimensions: { ...service, ...dimensions },
        period: 60,
        stat,
      })
      // A single-metric alarm names its statistic `statistic` (metric queries say `stat`).
      const single = (metricName: string, statistic: string, dimensions: Record<string, string> = {}) => {
        const { stat: _stat, ...rest } = metric(metricName, statistic, dimensions)
        return { ...rest, statistic }
      }
      const requests = { id: 'requests', metric: metric('http.server.request.duration', 'SampleCount') }

      const errorRate = args.errorRatePercent ?? 1
      new aws.cloudwatch.MetricAlarm(
        `${name}-service-error-rate`,
        {
          ...common,
          alarmDescription: `Service 5xx responses above ${errorRate}% of requests (measured in the service)`,
          threshold: errorRate,
          // No traffic is no error.
          treatMissingData: 'notBreaching',
          metricQueries: [
            { id: 'rate', expression: '100 * FILL(errors, 0) / requests', label: '5xx %', returnData: true },
            {
              id: 'errors',
              metric: metric('http.server.request.errors', 'Sum', { 'http.response.status_class': '5xx' }),
            },
            requests,
          ],
        },
        parent,
      )

      const p95 = args.p95LatencyMs ?? 500
      new aws.cloudwatch.MetricAlarm(
        `${name}-service-p95`,
        {
          ...common,
          alarmDescription: `p95 request duration above ${p95} ms (measured in the service)`,
          ...single('http.server.request.duration', 'p95'),
          statistic: undefined,
          extendedStatistic: 'p95',
          // The histogram is in seconds.
          threshold: p95 / 1000,
          treatMissingData: 'notBreaching',
        },
        parent,
      )

      const pool = args.poolSaturationPercent ?? 80
      new aws.cloudwatch.MetricAlarm(
        `${name}-service-pool-saturation`,
        {
          ...common,
          alarmDescription: `Busiest writer connection pool above ${pool}% in use (requests about to queue)`,
          ...single('db.client.connection.utilization', 'Maximum', { 'db.pool.role': 'writer' }),
          threshold: pool / 100,
          treatMissingData: 'notBreaching',
        },
        parent,
      )

      const shed = args.shedPercent ?? 5
      new aws.cloudwatch.MetricAlarm(
        `${name}-service-shed-rate`,
        {
          ...common,
          alarmDescription: `Load shedding refused more than ${shed}% of requests`,
          threshold: shed,
          treatMissingData: 'notBreaching',
          metricQueries: [
            {
              id: 'rate',
              expression: '100 * FILL(shed, 0) / (requests + FILL(shed, 0))',
              label: 'shed %',
              returnData: true,
            },
            { id: 'shed', metric: metric('http.server.request.shed', 'Sum') },
            requests,
          ],
        },
        parent,
      )

      const lag = args.outboxLagSeconds ?? 60
      new aws.cloudwatch.MetricAlarm(
        `${name}-service-outbox-lag`,
        {
          ...common,
          alarmDescription: `Oldest unrelayed outbox event older than ${lag} s (notifications are late)`,
          ...single('outbox.lag', 'Maximum'),
          threshold: lag,
          // Every task reports it; silence means no task is running, which other alarms catch.
          treatMissingData: 'notBreaching',
        },
        parent,
      )
    }

    function createDashboard(namespace: string) {
      const widget = (title: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
        type: 'metric',
        width: 8,
        height: 6,
        properties: { title, region: args.region, metrics, view: 'timeSeries', period: 60, ...extra },
      })
      const m = (metricName: string, stat: string, dims: string[] = []) => [
        namespace,
        metricName,
        'service.name',
        SERVICE_NAME,
        ...dims,
        { stat },
      ]
      new aws.cloudwatch.Dashboard(
        `${name}-service-dashboard`,
        {
          dashboardName: `${name}-service`,
          dashboardBody: JSON.stringify({
            widgets: [
              widget('Requests', [m('http.server.request.duration', 'SampleCount')]),
              widget('Request duration p50 / p95 / p99 (s)', [
                m('http.server.request.duration', 'p50'),
                m('http.server.request.duration', 'p95'),
                m('http.server.request.duration', 'p99'),
              ]),
              widget('Errors by status class', [
                m('http.server.request.errors', 'Sum', ['http.response.status_class', '5xx']),
                m('http.server.request.errors', 'Sum', ['http.response.status_class', '4xx']),
              ]),
              widget('PostgreSQL pools (writer)', [
                m('db.client.connection.used', 'Maximum', ['db.pool.role', 'writer']),
                m('db.client.connection.pending_requests', 'Maximum', ['db.pool.role', 'writer']),
                m('db.client.connection.max', 'Maximum', ['db.pool.role', 'writer']),
              ]),
              widget('Pool utilization (busiest pool)', [
                m('db.client.connection.utilization', 'Maximum', ['db.pool.role', 'writer']),
                m('db.client.connection.utilization', 'Maximum', ['db.pool.role', 'replica']),
              ]),
              widget('Load shedding and hashing queue', [
                m('http.server.request.shed', 'Sum'),
                m('auth.hash_queue.waiting', 'Maximum'),
                m('auth.hash_queue.active', 'Maximum'),
              ]),
              widget('Outbox lag (s) and relayed', [m('outbox.lag', 'Maximum'), m('outbox.relayed', 'Sum')]),
              widget('SSE connections (sum over tasks)', [m('sse.connections', 'Sum')]),
              widget('Redis errors', [
                m('redis.client.errors', 'Sum', ['redis.connection', 'main']),
                m('redis.client.errors', 'Sum', ['redis.connection', 'subscriber']),
              ]),
            ],
          }),
        },
        parent,
      )
    }
  }
}
