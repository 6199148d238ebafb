import { expect } from 'chai'
import { parse } from 'yaml'
import type { StackName } from '../src/config.js'
import { collectorConfig, SERVICE_NAME } from '../src/telemetry.js'
import { all, hasProps, json, one, stack, statements } from './helpers.js'

const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm'
const list = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v])

interface Container {
  name: string
  essential: boolean
  command?: string[]
  environment?: { name: string; value: string }[]
  dependsOn?: { containerName: string; condition: string }[]
}

// biome-ignore lint/suspicious/noExplicitAny: the collector's YAML, read field by field below
type CollectorConfig = any

describe('collector config (infra/collector/config.yaml)', () => {
  const config: CollectorConfig = parse(collectorConfig())

  it('receives OTLP/HTTP on loopback only, where the service sends it', () => {
    expect(config.receivers.otlp.protocols).to.have.keys(['http'])
    expect(config.receivers.otlp.protocols.http.endpoint).to.equal('127.0.0.1:4318')
  })

  it('sends traces to X-Ray and metrics to CloudWatch through EMF in our log group and namespace', () => {
    const { traces, metrics } = config.service.pipelines
    expect(traces.receivers).to.deep.equal(['otlp'])
    expect(traces.exporters).to.deep.equal(['awsxray'])
    expect(metrics.exporters).to.deep.equal(['awsemf'])
    for (const p of [traces, metrics])
      expect(p.processors[0], 'memory_limiter first').to.equal('memory_limiter')
    for (const p of [...traces.processors, ...metrics.processors])
      expect(config.processors).to.have.property(p)
    // The collector substitutes these from the container's environment (checked below per stack).
    const env = (name: string) => ['$', `{env:${name}}`].join('')
    expect(config.exporters.awsemf.log_group_name).to.equal(env('METRICS_LOG_GROUP'))
    expect(config.exporters.awsemf.namespace).to.equal(env('METRICS_NAMESPACE'))
    expect(config.exporters.awsxray.region).to.equal(env('AWS_REGION'))
  })

  it('declares every metric an alarm or the dashboard reads, with the dimensions they use', () => {
    const declarations = config.exporters.awsemf.metric_declarations as {
      dimensions: string[][]
      metric_name_selectors: string[]
    }[]
    const declared = (metric: string, dims: string[]) =>
      declarations.some(
        (d) =>
          d.metric_name_selectors.some((s) =>
            new RegExp(s.startsWith('^') ? s : `^${s.replace(/\./g, '\\.')}$`).test(metric),
          ) && d.dimensions.some((set) => set.length === dims.length && dims.every((x) => set.includes(x))),
      )
    expect(declared('http.server.request.duration', ['service.name'])).to.equal(true)
    expect(declared('http.server.request.errors', ['service.name', 'http.response.status_class'])).to.equal(
      true,
    )
    expect(declared('db.client.connection.utilization', ['service.name', 'db.pool.role'])).to.equal(true)
    expect(declared('http.server.request.shed', ['service.name'])).to.equal(true)
    expect(declared('outbox.lag', ['service.name'])).to.equal(true)
    expect(declared('auth.hash_queue.waiting', ['service.name'])).to.equal(true)
    expect(declared('not.a.metric', ['service.name'])).to.equal(false)
  })
})

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`telemetry (${name})`, () => {
    it('runs the collector sidecar with our config, not essential to the task', async () => {
      const { inventory } = await stack(name)
      const containers = json<Container[]>(
        one(inventory, 'aws:ecs/taskDefinition:TaskDefinition', '-service'),
        'containerDefinitions',
      )
      const collector = containers.find((c) => c.name === 'otel-collector') as Container
      expect(collector.essential).to.equal(false)
      expect(collector.command, 'the default config would be used instead').to.equal(undefined)
      const env = Object.fromEntries((collector.environment ?? []).map((e) => [e.name, e.value]))
      expect(env.AOT_CONFIG_CONTENT).to.equal(collectorConfig())
      expect(env.AWS_REGION).to.equal(inventory.region)
      expect(env.METRICS_NAMESPACE).to.equal(`blueprint-${name}/service`)
      const group = one(inventory, 'aws:cloudwatch/logGroup:LogGroup', '-metrics-logs')
      expect(env.METRICS_LOG_GROUP).to.equal(group.inputs.name)
      hasProps(group, { retentionInDays: 7 })
      expect(group.inputs.kmsKeyId).to.match(/^arn:aws:kms:/)
      // The service exports to the sidecar; its own container stays essential.
      const app = containers.find((c) => c.name === 'service') as Container
      expect(app.essential).to.equal(true)
      expect(app.environment).to.deep.include({
        name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
        value: 'http://localhost:4318',
      })
    })

    it('sets the standard OTEL_* variables on the service: name, resource, sampler, protocol', async () => {
      const { inventory } = await stack(name)
      const containers = json<Container[]>(
        one(inventory, 'aws:ecs/taskDefinition:TaskDefinition', '-service'),
        'containerDefinitions',
      )
      const app = containers.find((c) => c.name === 'service') as Container
      const env = Object.fromEntries((app.environment ?? []).map((e) => [e.name, e.value]))
      expect(env.OTEL_SERVICE_NAME, 'the alarms select on it').to.equal(SERVICE_NAME)
      expect(env.OTEL_EXPORTER_OTLP_PROTOCOL).to.equal('http/protobuf')
      expect(env.OTEL_TRACES_SAMPLER).to.equal('parentbased_traceidratio')
      expect(env.OTEL_TRACES_SAMPLER_ARG).to.equal('0.1')
      expect(env.TRACING_MAX_TRACES_PER_SECOND, 'the default cap, written out with the sampler').to.equal(
        '10',
      )
      const resource = Object.fromEntries(
        (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',').map((kv) => kv.split('=') as [string, string]),
      )
      expect(resource).to.include({
        'cloud.provider': 'aws',
        'cloud.region': inventory.region,
        'deployment.environment.name': name,
        'service.namespace': 'blueprint',
      })
      // The migration task runs no telemetry preload: it gets none of this.
      const migrate = json<Container[]>(
        one(inventory, 'aws:ecs/taskDefinition:TaskDefinition', '-migrate'),
        'containerDefinitions',
      )
      expect((migrate[0]?.environment ?? []).some((e) => e.name.startsWith('OTEL_'))).to.equal(false)
    })

    it('grants the collector X-Ray PutTraceSegments and writing to its own log group, nothing more', async () => {
      const { inventory } = await stack(name)
      const policy = one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-collector')
      const task = one(inventory, 'aws:iam/role:Role', `blueprint-${name}-task`)
      expect(policy.inputs.role).to.equal(task.inputs.name ?? policy.inputs.role)
      const st = statements(policy)
      expect(st.flatMap((s) => list(s.Action)).sort()).to.deep.equal([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTraceSegments',
      ])
      const logs = st.find((s) => list(s.Action).includes('logs:PutLogEvents'))
      expect(logs?.Resource).to.match(
        new RegExp(`log-group:/blueprint/blueprint-${name}/metrics:log-stream:\\*$`),
      )
      // No other policy of the stack grants X-Ray any more: one place for telemetry permissions.
      const xray = all(inventory, 'aws:iam/rolePolicy:RolePolicy').filter((p) =>
        statements(p).some((s) => list(s.Action).some((a) => a.startsWith('xray:'))),
      )
      expect(xray.map((p) => p.name)).to.deep.equal([policy.name])
    })

    it('alarms on service error rate > 1%, p95 > 500 ms, pool saturation > 80%, shedding and outbox lag', async () => {
      const { inventory } = await stack(name)
      const ns = `blueprint-${name}/service`
      const topic = one(inventory, 'aws:sns/topic:Topic', `blueprint-${name}-alarms`)
      const topicArn = `arn:aws:sns:${inventory.region}:123456789012:${topic.inputs.name}`
      const alarms = all(inventory, ALARM, (a) => a.name.includes('-service-'))
      expect(alarms).to.have.length(5)
      for (const a of alarms) expect(a.inputs.alarmActions, a.name).to.deep.equal([topicArn])

      type Query = {
        id: string
        expression?: string
        metric?: { namespace: string; metricName: string; stat: string; dimensions: Record<string, string> }
      }
      const errors = one(inventory, ALARM, '-service-error-rate')
      hasProps(errors, { threshold: 1, comparisonOperator: 'GreaterThanThreshold' })
      const q = errors.inputs.metricQueries as Query[]
      expect(q.find((x) => x.expression)?.expression).to.equal('100 * FILL(errors, 0) / requests')
      expect(q.find((x) => x.id === 'errors')?.metric).to.deep.include({
        namespace: ns,
        metricName: 'http.server.request.errors',
        stat: 'Sum',
        dimensions: { 'service.name': SERVICE_NAME, 'http.response.status_class': '5xx' },
      })
      expect(q.find((x) => x.id === 'requests')?.metric).to.deep.include({
        metricName: 'http.server.request.duration',
        stat: 'SampleCount',
      })

      hasProps(one(inventory, ALARM, '-service-p95'), {
        namespace: ns,
        metricName: 'http.server.request.duration',
        extendedStatistic: 'p95',
        threshold: 0.5,
        dimensions: { 'service.name': SERVICE_NAME },
      })
      hasProps(one(inventory, ALARM, '-service-pool-saturation'), {
        namespace: ns,
        metricName: 'db.client.connection.utilization',
        statistic: 'Maximum',
        threshold: 0.8,
        dimensions: { 'service.name': SERVICE_NAME, 'db.pool.role': 'writer' },
      })
      const shed = one(inventory, ALARM, '-service-shed-rate')
      hasProps(shed, { threshold: 5 })
      expect(
        (shed.inputs.metricQueries as Query[]).find((x) => x.id === 'shed')?.metric?.metricName,
      ).to.equal('http.server.request.shed')
      hasProps(one(inventory, ALARM, '-service-outbox-lag'), {
        namespace: ns,
        metricName: 'outbox.lag',
        statistic: 'Maximum',
        threshold: 60,
      })
    })

    it('has a service dashboard over the same metrics', async () => {
      const { inventory } = await stack(name)
      const body = json<{ widgets: { properties: { metrics: unknown[][]; region: string } }[] }>(
        one(inventory, 'aws:cloudwatch/dashboard:Dashboard', '-service-dashboard'),
        'dashboardBody',
      )
      const metrics = new Set(body.widgets.flatMap((w) => w.properties.metrics.map((m) => m[1])))
      for (const m of [
        'http.server.request.duration',
        'http.server.request.errors',
        'db.client.connection.utilization',
        'http.server.request.shed',
        'outbox.lag',
        'sse.connections',
        'auth.hash_queue.waiting',
        'redis.client.errors',
      ])
        expect(metrics, m).to.include(m)
      for (const w of body.widgets) expect(w.properties.region).to.equal(inventory.region)
    })
  })
}
