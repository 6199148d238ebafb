// Monthly cost estimate of one stack from its offline resource inventory and the price table:
// standing charges come from the resources themselves (instance classes, counts, storage), usage
// charges (traffic, logs, requests) from the stated assumptions.
import { PRICES_AS_OF, pricesFor, type RegionPrices } from './prices.js'

/** The part of an inventory resource the estimate reads (see infra/plan/inventory.ts). */
export interface CostResource {
  type: string
  name: string
  inputs: Record<string, unknown>
}

/** The part of an inventory the estimate reads. */
export interface CostInventory {
  stack: string
  region: string
  resources: CostResource[]
}

/** Usage the inventory cannot tell, per stack and month unless stated. */
export interface Assumptions {
  /** Hours in a billing month. */
  hoursPerMonth: number
  /** Average load-balancer capacity units per ALB. */
  albLcu: number
  /** GB through the NAT gateways (tasks reach ECR, Secrets Manager, Logs and S3 through endpoints). */
  natProcessedGb: number
  /** GB through the interface VPC endpoints (image pulls, logs, secrets). */
  interfaceEndpointGb: number
  /** GB served to the internet from this region. */
  egressGb: number
  /** GB crossing AZs (ALB to tasks, tasks to RDS/Redis in another AZ, replication). */
  interAzGb: number
  /** GB stored per S3 bucket, all at Standard (lifecycle tiering only lowers this). */
  s3GbPerBucket: number
  /** GB ingested per log group per month. */
  logIngestGbPerGroup: number
  /** GB ingested by the VPC flow-log group (all traffic, 1-minute aggregation). */
  flowLogIngestGb: number
  /** Stored size of log data relative to ingested size (CloudWatch bills archived data compressed). */
  logCompressionRatio: number
  /** Millions of requests the WAF inspects. */
  wafMillionRequests: number
  /** Allocated GB of a cross-region read replica's source, which this stack's inventory does not hold. */
  crossRegionReplicaStorageGb: number
  /** Fargate Spot price as a fraction of on-demand (it floats; about 70% off has been typical). */
  fargateSpotPriceFactor: number
  /** GB the CloudFront distribution serves, per distribution. */
  cdnEgressGb: number
  /** Millions of HTTPS requests the CloudFront distribution serves, per distribution. */
  cdnMillionRequests: number
  /** GB replicated to the other region's buckets, per replication rule set. */
  replicationGb: number
}

/** Defaults stated in docs/delivery.md. */
export const DEFAULT_ASSUMPTIONS: Assumptions = {
  hoursPerMonth: 730,
  albLcu: 5,
  natProcessedGb: 500,
  interfaceEndpointGb: 200,
  egressGb: 1000,
  interAzGb: 1000,
  s3GbPerBucket: 100,
  logIngestGbPerGroup: 10,
  flowLogIngestGb: 50,
  logCompressionRatio: 0.15,
  wafMillionRequests: 100,
  crossRegionReplicaStorageGb: 1000,
  fargateSpotPriceFactor: 0.3,
  cdnEgressGb: 2000,
  cdnMillionRequests: 100,
  replicationGb: 100,
}

/** One line of the report. */
export interface LineItem {
  category: string
  resource: string
  /** How the amount was computed, e.g. "4 tasks x (1 vCPU, 2 GB) x 730 h". */
  detail: string
  monthly: number
}

/** A stack's estimate. */
export interface Estimate {
  stack: string
  region: string
  pricesAsOf: string
  assumptions: Assumptions
  lines: LineItem[]
  total: number
  /** Resources with no standing charge of their own, by type. */
  unpriced: Record<string, number>
  notes: string[]
  /** What running every service at its autoscaling maximum adds per month (same Spot split). */
  maxScaleExtra: number
}

const num = (v: unknown, fallback = 0) => (typeof v === 'number' ? v : Number(v ?? fallback) || fallback)
const round2 = (n: number) => Math.round(n * 100) / 100
const shortType = (t: string) => t.split(':').at(-1) ?? t

function price(table: Record<string, number>, key: string, what: string, region: string): number {
  const p = table[key]
  if (p === undefined)
    throw new Error(`no ${what} price for ${key} in ${region}; add it to infra/cost/prices.ts`)
  return p
}

interface Strategy {
  capacityProvider?: string
  base?: number
  weight?: number
}

/** Splits a task count between on-demand and Spot the way ECS applies a capacity provider strategy. */
export function splitTasks(
  tasks: number,
  strategies: Strategy[] | undefined,
): { onDemand: number; spot: number } {
  if (!strategies?.length) return { onDemand: tasks, spot: 0 }
  const isSpot = (s: Strategy) => s.capacityProvider === 'FARGATE_SPOT'
  let remaining = tasks
  let onDemand = 0
  let spot = 0
  for (const s of strategies) {
    const base = Math.min(num(s.base), remaining)
    if (isSpot(s)) spot += base
    else onDemand += base
    remaining -= base
  }
  const weights = strategies.reduce((sum, s) => sum + num(s.weight), 0)
  if (remaining > 0 && weights > 0) {
    const spotShare = strategies.filter(isSpot).reduce((sum, s) => sum + num(s.weight), 0) / weights
    const toSpot = Math.floor(remaining * spotShare)
    spot += toSpot
    onDemand += remaining - toSpot
  } else {
    onDemand += remaining
  }
  return { onDemand, spot }
}

/** Estimates a stack's monthly cost. */
export function estimate(inventory: CostInventory, overrides: Partial<Assumptions> = {}): Estimate {
  const a = { ...DEFAULT_ASSUMPTIONS, ...overrides }
  const p: RegionPrices = pricesFor(inventory.region)
  const h = a.hoursPerMonth
  const lines: LineItem[] = []
  const unpriced: Record<string, number> = {}
  const notes: string[] = []
  let maxScaleExtra = 0
  const add = (category: string, resource: string, detail: string, monthly: number) =>
    lines.push({ category, resource, detail, monthly: round2(monthly) })
  const all = inventory.resources
  const ofType = (t: string) => all.filter((r) => r.type === t)
  const priced = new Set<string>()
  const mark = (...types: string[]) => {
    for (const t of types) priced.add(t)
  }

  // Compute: Fargate tasks at the autoscaler's minimum, the floor the service never goes below.
  mark('aws:ecs/service:Service', 'aws:ecs/taskDefinition:TaskDefinition', 'aws:appautoscaling/target:Target')
  for (const svc of ofType('aws:ecs/service:Service')) {
    const i = svc.inputs
    const taskDefRef = String(i.taskDefinition ?? '')
    const td = ofType('aws:ecs/taskDefinition:TaskDefinition').find(
      (t) => taskDefRef.includes(`task-definition/${t.inputs.family}:`) || taskDefRef === t.inputs.family,
    )
    if (!td)
      throw new Error(`service ${svc.name}: task definition ${taskDefRef || '(none)'} not in the inventory`)
    const target = ofType('aws:appautoscaling/target:Target').find((t) =>
      String(t.inputs.resourceId ?? '').endsWith(`/${i.name}`),
    )
    const tasks = Math.max(num(i.desiredCount, 1), num(target?.inputs.minCapacity))
    const vcpu = num(td.inputs.cpu) / 1024
    const gb = num(td.inputs.memory) / 1024
    const perTaskHour = vcpu * p.fargateVcpuHour + gb * p.fargateGbHour
    const strategies = i.capacityProviderStrategies as Strategy[] | undefined
    const { onDemand, spot } = splitTasks(tasks, strategies)
    const monthlyFor = (split: { onDemand: number; spot: number }) =>
      (split.onDemand + split.spot * a.fargateSpotPriceFactor) * perTaskHour * h
    const max = num(target?.inputs.maxCapacity)
    if (max > tasks) {
      const extra = monthlyFor(splitTasks(max, strategies)) - monthlyFor({ onDemand, spot })
      maxScaleExtra += extra
      notes.push(`${svc.name} at its autoscaling maximum of ${max} tasks adds $${round2(extra)} per month`)
    }
    const size = `(${vcpu} vCPU, ${gb} GB)`
    add('compute', svc.name, `${onDemand} on-demand tasks x ${size} x ${h} h`, onDemand * perTaskHour * h)
    if (spot > 0) {
      add(
        'compute',
        svc.name,
        `${spot} Spot tasks x ${size} x ${h} h x ${a.fargateSpotPriceFactor}`,
        spot * perTaskHour * h * a.fargateSpotPriceFactor,
      )
    }
  }
  const oneOff = ofType('aws:ecs/taskDefinition:TaskDefinition').filter(
    (t) =>
      !ofType('aws:ecs/service:Service').some((s) =>
        String(s.inputs.taskDefinition ?? '').includes(`/${t.inputs.family}:`),
      ),
  )
  if (oneOff.length)
    notes.push(
      `one-off task definitions (${oneOff.map((t) => t.name).join(', ')}) run minutes per deploy: not counted`,
    )

  // Load balancers: hours, capacity units, and one public IPv4 address per AZ when internet-facing.
  mark('aws:lb/loadBalancer:LoadBalancer')
  for (const lb of ofType('aws:lb/loadBalancer:LoadBalancer')) {
    add('network', lb.name, `${h} h + ${a.albLcu} LCU x ${h} h`, (p.albHour + a.albLcu * p.albLcuHour) * h)
    if (!lb.inputs.internal) {
      const ips = Math.max(1, (lb.inputs.subnets as unknown[] | undefined)?.length ?? 0)
      add('network', lb.name, `${ips} public IPv4 x ${h} h`, ips * p.publicIpv4Hour * h)
    }
  }

  mark('aws:ec2/natGateway:NatGateway', 'aws:ec2/eip:Eip')
  const nats = ofType('aws:ec2/natGateway:NatGateway').length
  if (nats) {
    add('network', 'NAT gateways', `${nats} x ${h} h`, nats * p.natHour * h)
    add('network', 'NAT gateways', `${a.natProcessedGb} GB processed`, a.natProcessedGb * p.natGb)
  }
  const eips = ofType('aws:ec2/eip:Eip').length
  if (eips) add('network', 'Elastic IPs', `${eips} public IPv4 x ${h} h`, eips * p.publicIpv4Hour * h)

  mark('aws:ec2/vpcEndpoint:VpcEndpoint')
  const interfaces = ofType('aws:ec2/vpcEndpoint:VpcEndpoint').filter(
    (e) => e.inputs.vpcEndpointType === 'Interface',
  )
  const endpointAzs = interfaces.reduce(
    (n, e) => n + Math.max(1, (e.inputs.subnetIds as unknown[] | undefined)?.length ?? 0),
    0,
  )
  if (interfaces.length) {
    add(
      'network',
      'interface VPC endpoints',
      `${interfaces.length} endpoints, ${endpointAzs} endpoint-AZs x ${h} h`,
      endpointAzs * p.interfaceEndpointAzHour * h,
    )
    add(
      'network',
      'interface VPC endpoints',
      `${a.interfaceEndpointGb} GB processed`,
      a.interfaceEndpointGb * p.interfaceEndpointGb,
    )
  }
  add('network', 'data transfer out', `${a.egressGb} GB to the internet`, a.egressGb * p.egressGb)
  add(
    'network',
    'data transfer between AZs',
    `${a.interAzGb} GB x 2 directions`,
    a.interAzGb * 2 * p.interAzGb,
  )

  // Database: instance hours and gp3 storage, both doubled for a Multi-AZ instance deployment.
  mark('aws:rds/instance:Instance')
  const dbs = ofType('aws:rds/instance:Instance')
  for (const db of dbs) {
    const i = db.inputs
    const az = i.multiAz === true ? 2 : 1
    const cls = String(i.instanceClass)
    const azText = az === 2 ? ' x 2 (Multi-AZ)' : ''
    add(
      'database',
      db.name,
      `${cls} x ${h} h${azText}`,
      price(p.rdsInstanceHour, cls, 'RDS', inventory.region) * h * az,
    )
    let gb = num(i.allocatedStorage)
    let source = ''
    if (!gb && i.replicateSourceDb) {
      const src = String(i.replicateSourceDb)
      const local = dbs.find((d) => d.inputs.identifier === src)
      gb = local ? num(local.inputs.allocatedStorage) : a.crossRegionReplicaStorageGb
      source = local ? ` (as its source ${src})` : ' (assumed: source is in another region)'
    }
    if (gb) add('database', db.name, `${gb} GB gp3${azText}${source}`, gb * p.rdsGp3GbMonth * az)
    if (i.manageMasterUserPassword) add('security', db.name, '1 RDS-managed master secret', p.secretMonth)
  }

  mark('aws:elasticache/replicationGroup:ReplicationGroup')
  for (const rg of ofType('aws:elasticache/replicationGroup:ReplicationGroup')) {
    const i = rg.inputs
    const nodes =
      i.numNodeGroups !== undefined
        ? num(i.numNodeGroups) * (1 + num(i.replicasPerNodeGroup))
        : num(i.numCacheClusters, 1)
    const type = String(i.nodeType)
    add(
      'cache',
      rg.name,
      `${nodes} x ${type} x ${h} h`,
      nodes * price(p.cacheNodeHour, type, 'ElastiCache', inventory.region) * h,
    )
  }

  mark('aws:s3/bucket:Bucket')
  for (const b of ofType('aws:s3/bucket:Bucket')) {
    add('storage', b.name, `${a.s3GbPerBucket} GB Standard`, a.s3GbPerBucket * p.s3StandardGbMonth)
  }

  // Logs: ingestion dominates; storage is the compressed retained volume at steady state.
  mark('aws:cloudwatch/logGroup:LogGroup', 'aws:ec2/flowLog:FlowLog')
  const flowDestinations = ofType('aws:ec2/flowLog:FlowLog').map((f) => String(f.inputs.logDestination ?? ''))
  for (const lg of ofType('aws:cloudwatch/logGroup:LogGroup')) {
    const isFlow = flowDestinations.some((d) => d.endsWith(`:log-group:${lg.inputs.name}`))
    const gb = isFlow ? a.flowLogIngestGb : a.logIngestGbPerGroup
    const months = Math.min(num(lg.inputs.retentionInDays, 365), 3653) / 30
    const stored = gb * months * a.logCompressionRatio
    add(
      'observability',
      lg.name,
      `${gb} GB ingested + ${round2(stored)} GB stored`,
      gb * p.logsIngestGb + stored * p.logsStorageGbMonth,
    )
  }
  mark('aws:cloudwatch/metricAlarm:MetricAlarm', 'aws:cloudwatch/dashboard:Dashboard')
  const alarms = ofType('aws:cloudwatch/metricAlarm:MetricAlarm').length
  if (alarms) add('observability', 'CloudWatch alarms', `${alarms} alarms`, alarms * p.alarmMonth)
  const dashboards = ofType('aws:cloudwatch/dashboard:Dashboard').length
  if (dashboards)
    add('observability', 'CloudWatch dashboards', `${dashboards} dashboards`, dashboards * p.dashboardMonth)

  mark(
    'aws:kms/key:Key',
    'aws:secretsmanager/secret:Secret',
    'aws:wafv2/webAcl:WebAcl',
    'aws:route53/healthCheck:HealthCheck',
  )
  const keys = ofType('aws:kms/key:Key').length
  if (keys) add('security', 'KMS keys', `${keys} customer-managed keys`, keys * p.kmsKeyMonth)
  const secrets = ofType('aws:secretsmanager/secret:Secret').length
  if (secrets) add('security', 'Secrets Manager', `${secrets} secrets`, secrets * p.secretMonth)
  for (const acl of ofType('aws:wafv2/webAcl:WebAcl')) {
    const rules = (acl.inputs.rules as unknown[] | undefined)?.length ?? 0
    add('security', acl.name, `1 web ACL + ${rules} rules`, p.wafAclMonth + rules * p.wafRuleMonth)
    add(
      'security',
      acl.name,
      `${a.wafMillionRequests} M requests`,
      a.wafMillionRequests * p.wafMillionRequests,
    )
  }
  const checks = ofType('aws:route53/healthCheck:HealthCheck').length
  if (checks) add('network', 'Route 53 health checks', `${checks} health checks`, checks * p.healthCheckMonth)

  if (
    ofType('aws:ecs/cluster:Cluster').some((c) =>
      JSON.stringify(c.inputs.settings ?? '').includes('containerInsights'),
    )
  ) {
    notes.push('Container Insights metrics and X-Ray traces are billed by volume: not estimated here')
  }
  if (dbs.length) {
    notes.push(
      'RDS backup storage up to the size of the databases is free; Performance Insights 7-day retention is free',
    )
  }
  mark('aws:cloudfront/distribution:Distribution', 'aws:s3/bucketReplicationConfig:BucketReplicationConfig')
  for (const d of ofType('aws:cloudfront/distribution:Distribution')) {
    add('network', d.name, `${a.cdnEgressGb} GB from US/Europe edges`, a.cdnEgressGb * p.cloudfrontGb)
    add(
      'network',
      d.name,
      `${a.cdnMillionRequests} M HTTPS requests`,
      a.cdnMillionRequests * p.cloudfrontMillionRequests,
    )
  }
  for (const rc of ofType('aws:s3/bucketReplicationConfig:BucketReplicationConfig')) {
    add(
      'storage',
      rc.name,
      `${a.replicationGb} GB replicated to another region`,
      a.replicationGb * p.interRegionGb,
    )
  }
  for (const r of all) {
    if (!r.type.startsWith('aws:') || priced.has(r.type)) continue
    unpriced[shortType(r.type)] = (unpriced[shortType(r.type)] ?? 0) + 1
  }
  const total = round2(lines.reduce((sum, l) => sum + l.monthly, 0))
  return {
    stack: inventory.stack,
    region: inventory.region,
    pricesAsOf: PRICES_AS_OF,
    assumptions: a,
    lines,
    total,
    unpriced,
    notes,
    maxScaleExtra: round2(maxScaleExtra),
  }
}
