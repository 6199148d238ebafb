import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

export interface ObservabilityArgs {
  /** Email subscribed to the alarm topic (the subscription must be confirmed once). */
  email: string
  kmsKeyArn: pulumi.Input<string>
  region: string
  albArnSuffix: pulumi.Input<string>
  targetGroupArnSuffix: pulumi.Input<string>
  clusterName: pulumi.Input<string>
  serviceName: pulumi.Input<string>
  /** The region's own DB instance (writer or cross-region replica). */
  dbIdentifier: string
  /** Instances whose ReplicaLag is alarmed (same-region readers and the cross-region replica). */
  replicaIdentifiers: string[]
  /** max_connections of the DB instance class. */
  dbMaxConnections: number
  /** Allocated storage in GiB, the base of the free-storage percentage. */
  dbAllocatedStorageGb: number
  /** Redis member cluster ids (one alarm per node: ElastiCache publishes per node only). */
  redisClusterIds: string[]
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
  /** @default 60 */
  replicaLagSeconds: number
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
    const topic = new aws.sns.Topic(
      `${name}-alarms`,
      { name: `${name}-alarms`, kmsMasterKeyId: args.kmsKeyArn },
      parent,
    )
    new aws.sns.TopicSubscription(
      `${name}-email`,
      { topic: topic.arn, protocol: 'email', endpoint: args.email },
      parent,
    )
    this.topicArn = topic.arn
    const actions = { alarmActions: [topic.arn], okActions: [topic.arn] }

    const alb = { LoadBalancer: args.albArnSuffix }
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
        dimensions: { ...alb, TargetGroup: args.targetGroupArnSuffix },
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
        dimensions: { ClusterName: args.clusterName, ServiceName: args.serviceName },
        statistic: 'Average',
        period: 60,
        evaluationPeriods: 5,
        threshold: args.ecsCpuPercent,
        comparisonOperator: 'GreaterThanThreshold',
        ...actions,
      },
      parent,
    )
    const db = { DBInstanceIdentifier: args.dbIdentifier }
    new aws.cloudwatch.MetricAlarm(
      `${name}-db-connections`,
      {
        alarmDescription: `DB connections above ${args.dbConnectionsPercent}% of max_connections (${args.dbMaxConnections})`,
        namespace: 'AWS/RDS',
        metricName: 'DatabaseConnections',
        dimensions: db,
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        threshold: Math.floor((args.dbMaxConnections * args.dbConnectionsPercent) / 100),
        comparisonOperator: 'GreaterThanThreshold',
        ...actions,
      },
      parent,
    )
    new aws.cloudwatch.MetricAlarm(
      `${name}-db-free-storage`,
      {
        alarmDescription: `DB free storage below ${args.dbFreeStoragePercent}% of ${args.dbAllocatedStorageGb} GiB`,
        namespace: 'AWS/RDS',
        metricName: 'FreeStorageSpace',
        dimensions: db,
        statistic: 'Minimum',
        period: 300,
        evaluationPeriods: 1,
        // FreeStorageSpace is in bytes.
        threshold: Math.floor(args.dbAllocatedStorageGb * 1024 ** 3 * (args.dbFreeStoragePercent / 100)),
        comparisonOperator: 'LessThanThreshold',
        ...actions,
      },
      parent,
    )
    for (const id of args.replicaIdentifiers) {
      new aws.cloudwatch.MetricAlarm(
        `${name}-replica-lag-${id}`,
        {
          alarmDescription: `Replica ${id} lag above ${args.replicaLagSeconds} s`,
          namespace: 'AWS/RDS',
          metricName: 'ReplicaLag',
          dimensions: { DBInstanceIdentifier: id },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 3,
          threshold: args.replicaLagSeconds,
          comparisonOperator: 'GreaterThanThreshold',
          // No data means replication stopped reporting: that is an alarm, not a pass.
          treatMissingData: 'breaching',
          ...actions,
        },
        parent,
      )
    }
    for (const id of args.redisClusterIds) {
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
          .all([args.albArnSuffix, args.targetGroupArnSuffix, args.clusterName, args.serviceName])
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
                  ['AWS/RDS', 'CPUUtilization', 'DBInstanceIdentifier', args.dbIdentifier],
                  ['.', 'DatabaseConnections', '.', '.'],
                  ...args.replicaIdentifiers.map((id) => [
                    'AWS/RDS',
                    'ReplicaLag',
                    'DBInstanceIdentifier',
                    id,
                  ]),
                ]),
                widget(
                  'Redis',
                  args.redisClusterIds.map((id) => [
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
