import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import type { Cache } from './cache.js'
import type { DatabaseConfig } from './config.js'
import { type Database, defaultMaxConnections } from './database.js'
import type { Ingress } from './ingress.js'
import type { Keys } from './keys.js'
import type { Service } from './service.js'

/** What the alarms watch: the database component plus the settings of its config section they are sized by. */
export type ObservedDatabase = Pick<Database, 'identifier' | 'readReplicaIdentifiers'> &
  Pick<
    DatabaseConfig,
    'role' | 'instanceClass' | 'maxConnections' | 'allocatedStorageGb' | 'replicaLagAlarmSeconds'
  >

export interface ObservabilityArgs {
  /** Email subscribed to the alarm topic (the subscription must be confirmed once). */
  email: string
  region: string
  /** The region's key: it encrypts the alarm topic. */
  keys: Pick<Keys, 'keyArn'>
  /** The ALB and its target group (5xx rate and latency alarms). */
  ingress: Pick<Ingress, 'arnSuffix' | 'targetGroupArnSuffix'>
  /** The ECS service (CPU alarm). */
  service: Pick<Service, 'clusterName' | 'serviceName'>
  /**
   * The region's own DB instance (writer or cross-region replica) and its readers: connections are alarmed against
   * max_connections (config, else the instance class's), free storage against the allocated size, ReplicaLag on the
   * same-region readers and, in a replica-role region, on the instance itself.
   */
  database: ObservedDatabase
  /** The Redis replication group: one alarm per member node (ElastiCache publishes per node only). */
  cache: Pick<Cache, 'memberClusterIds'>
  /** @default 1 */
  alb5xxPercent: number
  /** @default 500 */
  p95LatencyMs: number
  /** @default 80 */
  dbConnectionsPercent: number
  /** @default 80 */
  ecsCpuPercent: number
  /** @default 20 */
  dbFreeStoragePercent: number
  /** @default 80 */
  redisCpuPercent: number
  /** @default 80 */
  redisMemoryPercent: number
}

/** Alarm topic, the alarms the issue lists, and one dashboard for the region. */
export class Observability extends pulumi.ComponentResource {
  readonly topicArn: pulumi.Output<string>

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:observability:Observability', name, {}, opts)
    const parent = { parent: this }
    const { arnSuffix: albArnSuffix, targetGroupArnSuffix } = args.ingress
    const { clusterName, serviceName } = args.service
    const database = args.database
    const dbIdentifier = database.identifier
    const replicaIdentifiers = [
      ...database.readReplicaIdentifiers,
      ...(database.role === 'replica' ? [database.identifier] : []),
    ]
    const dbMaxConnections = database.maxConnections ?? defaultMaxConnections(database.instanceClass)
    const dbAllocatedStorageGb = database.allocatedStorageGb
    const replicaLagSeconds = database.replicaLagAlarmSeconds
    const redisClusterIds = args.cache.memberClusterIds
    const topic = new aws.sns.Topic(
      `${name}-alarms`,
      { name: `${name}-alarms`, kmsMasterKeyId: args.keys.keyArn },
      parent,
    )
    new aws.sns.TopicSubscription(
      `${name}-email`,
      { topic: topic.arn, protocol: 'email', endpoint: args.email },
      parent,
    )
    this.topicArn = topic.arn
    const actions = { alarmActions: [topic.arn], okActions: [topic.arn] }

    const alb = { LoadBalancer: albArnSuffix }
    new aws.cloudwatch.MetricAlarm(
      `${name}-alb-5xx-rate`,
      {
        alarmDescription: `ALB 5xx responses above ${args.alb5xxPercent}% of requests`,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: args.alb5xxPercent,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: 'notBreaching',
        metricQueries: [
          {
            id: 'rate',
            expression: '100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests',
            label: '5xx %',
            returnData: true,
          },
          ...(
            [
              ['requests', 'RequestCount'],
              ['elb5xx', 'HTTPCode_ELB_5XX_Count'],
              ['target5xx', 'HTTPCode_Target_5XX_Count'],
            ] as const
          ).map(([id, metricName]) => ({
            id,
            metric: { namespace: 'AWS/ApplicationELB', metricName, dimensions: alb, period: 60, stat: 'Sum' },
          })),
        ],
        ...actions,
      },
      parent,
    )
    new aws.cloudwatch.MetricAlarm(
      `${name}-alb-p95`,
      {
        alarmDescription: `p95 target response time above ${args.p95LatencyMs} ms`,
        namespace: 'AWS/ApplicationELB',
        metricName: 'TargetResponseTime',
        dimensions: { ...alb, TargetGroup: targetGroupArnSuffix },
        extendedStatistic: 'p95',
        period: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        // TargetResponseTime is reported in seconds.
        threshold: args.p95LatencyMs / 1000,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        ...actions,
      },
      parent,
    )
    new aws.cloudwatch.MetricAlarm(
      `${name}-ecs-cpu`,
      {
        alarmDescription: `Service CPU above ${args.ecsCpuPercent}%`,
        namespace: 'AWS/ECS',
        metricName: 'CPUUtilization',
        dimensions: { ClusterName: clusterName, ServiceName: serviceName },
        statistic: 'Average',
        period: 60,
        evaluationPeriods: 5,
        threshold: args.ecsCpuPercent,
        comparisonOperator: 'GreaterThanThreshold',
        ...actions,
      },
      parent,
    )
    const db = { DBInstanceIdentifier: dbIdentifier }
    new aws.cloudwatch.MetricAlarm(
      `${name}-db-connections`,
      {
        alarmDescription: `DB connections above ${args.dbConnectionsPercent}% of max_connections (${dbMaxConnections})`,
        namespace: 'AWS/RDS',
        metricName: 'DatabaseConnections',
        dimensions: db,
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        threshold: Math.floor((dbMaxConnections * args.dbConnectionsPercent) / 100),
        comparisonOperator: 'GreaterThanThreshold',
        ...actions,
      },
      parent,
    )
    new aws.cloudwatch.MetricAlarm(
      `${name}-db-free-storage`,
      {
        alarmDescription: `DB free storage below ${args.dbFreeStoragePercent}% of ${dbAllocatedStorageGb} GiB`,
        namespace: 'AWS/RDS',
        metricName: 'FreeStorageSpace',
        dimensions: db,
        statistic: 'Minimum',
        period: 300,
        evaluationPeriods: 1,
        // FreeStorageSpace is in bytes.
        threshold: Math.floor(dbAllocatedStorageGb * 1024 ** 3 * (args.dbFreeStoragePercent / 100)),
        comparisonOperator: 'LessThanThreshold',
        ...actions,
      },
      parent,
    )
    for (const id of replicaIdentifiers) {
      new aws.cloudwatch.MetricAlarm(
        `${name}-replica-lag-${id}`,
        {
          alarmDescription: `Replica ${id} lag above ${replicaLagSeconds} s`,
          namespace: 'AWS/RDS',
          metricName: 'ReplicaLag',
          dimensions: { DBInstanceIdentifier: id },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 3,
          threshold: replicaLagSeconds,
          comparisonOperator: 'GreaterThanThreshold',
          // No data means replication stopped reporting: that is an alarm, not a pass.
          treatMissingData: 'breaching',
          ...actions,
        },
        parent,
      )
    }
    for (const id of redisClusterIds) {
      new aws.cloudwatch.MetricAlarm(
        `${name}-redis-cpu-${id}`,
        {
          alarmDescription: `Redis ${id} engine CPU above ${args.redisCpuPercent}%`,
          namespace: 'AWS/ElastiCache',
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: id },
          statistic: 'Average',
          period: 60,
          evaluationPeriods: 5,
          threshold: args.redisCpuPercent,
          comparisonOperator: 'GreaterThanThreshold',
          ...actions,
        },
        parent,
      )
      new aws.cloudwatch.MetricAlarm(
        `${name}-redis-memory-${id}`,
        {
          alarmDescription: `Redis ${id} memory above ${args.redisMemoryPercent}%`,
          namespace: 'AWS/ElastiCache',
          metricName: 'DatabaseMemoryUsagePercentage',
          dimensions: { CacheClusterId: id },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 5,
          threshold: args.redisMemoryPercent,
          comparisonOperator: 'GreaterThanThreshold',
          ...actions,
        },
        parent,
      )
    }

    const widget = (title: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
      type: 'metric',
      width: 12,
      height: 6,
      properties: { title, region: args.region, metrics, view: 'timeSeries', ...extra },
    })
    new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: `${name}-region`,
        dashboardBody: pulumi
          .all([albArnSuffix, targetGroupArnSuffix, clusterName, serviceName])
          .apply(([lb, tg, cluster, service]) =>
            JSON.stringify({
              widgets: [
                widget('ALB requests and 5xx', [
                  ['AWS/ApplicationELB', 'RequestCount', 'LoadBalancer', lb, { stat: 'Sum' }],
                  ['.', 'HTTPCode_Target_5XX_Count', '.', '.', { stat: 'Sum' }],
                  ['.', 'HTTPCode_ELB_5XX_Count', '.', '.', { stat: 'Sum' }],
                ]),
                widget('Target response time p95', [
                  [
                    'AWS/ApplicationELB',
                    'TargetResponseTime',
                    'LoadBalancer',
                    lb,
                    'TargetGroup',
                    tg,
                    { stat: 'p95' },
                  ],
                ]),
                widget('Service CPU / memory', [
                  ['AWS/ECS', 'CPUUtilization', 'ClusterName', cluster, 'ServiceName', service],
                  ['.', 'MemoryUtilization', '.', '.', '.', '.'],
                ]),
                widget('Running tasks', [
                  [
                    'ECS/ContainerInsights',
                    'RunningTaskCount',
                    'ClusterName',
                    cluster,
                    'ServiceName',
                    service,
                  ],
                ]),
                widget('Database', [
                  ['AWS/RDS', 'CPUUtilization', 'DBInstanceIdentifier', dbIdentifier],
                  ['.', 'DatabaseConnections', '.', '.'],
                  ...replicaIdentifiers.map((id) => ['AWS/RDS', 'ReplicaLag', 'DBInstanceIdentifier', id]),
                ]),
                widget(
                  'Redis',
                  redisClusterIds.map((id) => [
                    'AWS/ElastiCache',
                    'EngineCPUUtilization',
                    'CacheClusterId',
                    id,
                  ]),
                ),
              ],
            }),
          ),
      },
      parent,
    )
    this.registerOutputs({ topicArn: this.topicArn })
  }
}
