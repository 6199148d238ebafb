import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

export interface LatencyDnsArgs {
  zoneId: string
  /** Shared API name, latency-routed across regions. */
  apiDomain: string
  /** This region's own API name: a plain alias to its ALB, and what the health check calls. */
  regionalApiDomain: string
  /** Record set identifier, unique per region. */
  setIdentifier: string
  /** AWS region the latency record answers for. */
  region: string
  albDnsName: pulumi.Input<string>
  albZoneId: pulumi.Input<string>
  /** Path the health check requests. */
  healthPath: string
  /** Seconds between checks from each checker; Route 53 offers 10 or 30. @default 30 */
  intervalSeconds?: 10 | 30
  /** Consecutive failures before the region is marked unhealthy. @default 3 */
  failureThreshold?: number
  /**
   * Alarm on this region's health check, for the stack in us-east-1 only (Route 53 publishes health-check
   * metrics only there; the other region's stack owns nothing in us-east-1, and the global stack alarms on its
   * check with `healthCheckAlarm`). @default no alarm
   */
  alarmTopicArn?: pulumi.Input<string>
}

/** Latency-routed API record for this region, guarded by an HTTPS health check with an alarm. */
export class LatencyDns extends pulumi.ComponentResource {
  readonly healthCheckId: pulumi.Output<string>

  constructor(name: string, args: LatencyDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:dns:LatencyDns', name, {}, opts)
    const parent = { parent: this }
    const alias = { name: args.albDnsName, zoneId: args.albZoneId, evaluateTargetHealth: true }

    new aws.route53.Record(
      `${name}-regional`,
      { zoneId: args.zoneId, name: args.regionalApiDomain, type: 'A', aliases: [alias] },
      parent,
    )
    const check = new aws.route53.HealthCheck(
      `${name}-health`,
      {
        type: 'HTTPS',
        fqdn: args.regionalApiDomain,
        port: 443,
        resourcePath: args.healthPath,
        requestInterval: args.intervalSeconds ?? 30,
        failureThreshold: args.failureThreshold ?? 3,
        enableSni: true,
        measureLatency: true,
        tags: { Name: `${name}-api` },
      },
      parent,
    )
    this.healthCheckId = check.id
    new aws.route53.Record(
      `${name}-latency`,
      {
        zoneId: args.zoneId,
        name: args.apiDomain,
        type: 'A',
        setIdentifier: args.setIdentifier,
        latencyRoutingPolicies: [{ region: args.region }],
        healthCheckId: check.id,
        aliases: [alias],
      },
      parent,
    )
    if (args.alarmTopicArn) {
      healthCheckAlarm(
        `${name}-health`,
        check.id,
        `${args.regionalApiDomain}${args.healthPath}`,
        args.alarmTopicArn,
        parent,
      )
    }
    this.registerOutputs({ healthCheckId: this.healthCheckId })
  }
}

/**
 * Alarm on a Route 53 health check. Route 53 publishes `HealthCheckStatus` in us-east-1 only, so it must be
 * created with a us-east-1 provider and notify a topic there: only the global (us-east) stack calls this.
 */
export function healthCheckAlarm(
  name: string,
  healthCheckId: pulumi.Input<string>,
  target: string,
  topicArn: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(
    name,
    {
      alarmDescription: `${target} failing Route 53 health checks`,
      namespace: 'AWS/Route53',
      metricName: 'HealthCheckStatus',
      dimensions: { HealthCheckId: healthCheckId },
      statistic: 'Minimum',
      period: 60,
      evaluationPeriods: 2,
      threshold: 1,
      comparisonOperator: 'LessThanThreshold',
      treatMissingData: 'breaching',
      alarmActions: [topicArn],
      okActions: [topicArn],
    },
    opts,
  )
}
