import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { all, hasProps, json, one, stack } from './helpers.js'

const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm'

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`observability (${name})`, () => {
    it('sends alarms to an encrypted SNS topic with the configured email subscribed', async () => {
      const { inventory } = await stack(name)
      const topic = one(inventory, 'aws:sns/topic:Topic', `blueprint-${name}-alarms`)
      expect(topic.inputs.kmsMasterKeyId).to.match(/^arn:aws:kms:/)
      hasProps(one(inventory, 'aws:sns/topicSubscription:TopicSubscription', `blueprint-${name}-email`), {
        protocol: 'email',
        endpoint: 'oncall@blueprint.example.com',
      })
      const topicArn = `arn:aws:sns:${inventory.region}:123456789012:${topic.inputs.name}`
      const alarms = all(
        inventory,
        ALARM,
        (a) => !a.name.includes('-scale-') && a.inputs.namespace !== 'AWS/Route53',
      )
      expect(alarms.length).to.be.greaterThan(10)
      for (const a of alarms) expect(a.inputs.alarmActions, a.name).to.deep.equal([topicArn])
    })

    it('alarms when ALB 5xx exceed 1% of requests', async () => {
      const { inventory } = await stack(name)
      const alarm = one(inventory, ALARM, '-alb-5xx-rate')
      hasProps(alarm, { threshold: 1, comparisonOperator: 'GreaterThanThreshold' })
      const queries = alarm.inputs.metricQueries as {
        id: string
        expression?: string
        metric?: { metricName: string }
      }[]
      expect(queries.find((q) => q.expression)?.expression).to.match(
        /^100 \* \(.*elb5xx.*target5xx.*\) \/ requests$/,
      )
      expect(queries.map((q) => q.metric?.metricName).filter(Boolean)).to.have.members([
        'RequestCount',
        'HTTPCode_ELB_5XX_Count',
        'HTTPCode_Target_5XX_Count',
      ])
    })

    it('alarms when p95 target response time exceeds 500 ms', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, ALARM, '-alb-p95'), {
        metricName: 'TargetResponseTime',
        extendedStatistic: 'p95',
        threshold: 0.5,
        comparisonOperator: 'GreaterThanThreshold',
      })
    })

    it('alarms at 80% of max_connections (5000 on db.r6g.2xlarge) and below 20% free storage', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, ALARM, '-db-connections'), {
        metricName: 'DatabaseConnections',
        threshold: 4000,
      })
      hasProps(one(inventory, ALARM, '-db-free-storage'), {
        metricName: 'FreeStorageSpace',
        comparisonOperator: 'LessThanThreshold',
        threshold: Math.floor(1000 * 1024 ** 3 * 0.2),
      })
    })

    it('alarms when service CPU exceeds 80%', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, ALARM, '-ecs-cpu'), {
        namespace: 'AWS/ECS',
        metricName: 'CPUUtilization',
        threshold: 80,
        dimensions: { ClusterName: `blueprint-${name}`, ServiceName: `blueprint-${name}-service` },
      })
    })

    it('alarms on replica lag of every replica the region runs', async () => {
      const { inventory } = await stack(name)
      const lag = all(inventory, ALARM, (a) => a.inputs.metricName === 'ReplicaLag')
      const expected = name === 'us-east' ? ['blueprint-us-east-db-read-1'] : ['blueprint-eu-west-db-replica']
      expect(
        lag.map((a) => (a.inputs.dimensions as Record<string, string>).DBInstanceIdentifier),
      ).to.deep.equal(expected)
      for (const a of lag) hasProps(a, { threshold: 60, treatMissingData: 'breaching' })
    })

    it('alarms on Redis engine CPU and memory for each of the 9 nodes', async () => {
      const { inventory } = await stack(name)
      const cpu = all(inventory, ALARM, (a) => a.inputs.metricName === 'EngineCPUUtilization')
      const mem = all(inventory, ALARM, (a) => a.inputs.metricName === 'DatabaseMemoryUsagePercentage')
      expect(cpu).to.have.length(9)
      expect(mem).to.have.length(9)
      const ids = cpu.map((a) => (a.inputs.dimensions as Record<string, string>).CacheClusterId)
      expect(ids).to.include(`blueprint-${name}-redis-0003-003`)
      for (const a of [...cpu, ...mem]) expect(a.inputs.threshold).to.equal(80)
    })

    it('has a dashboard for the region covering ALB, ECS, RDS and Redis', async () => {
      const { inventory } = await stack(name)
      const dash = one(inventory, 'aws:cloudwatch/dashboard:Dashboard', `blueprint-${name}-dashboard`)
      const body = json<{ widgets: { properties: { metrics: string[][] } }[] }>(dash, 'dashboardBody')
      const namespaces = new Set(body.widgets.flatMap((w) => w.properties.metrics.map((m) => m[0])))
      for (const ns of ['AWS/ApplicationELB', 'AWS/ECS', 'AWS/RDS', 'AWS/ElastiCache'])
        expect(namespaces).to.include(ns)
    })
  })
}
