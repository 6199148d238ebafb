import * as pulumi from '@pulumi/pulumi'

/** The two stacks this project knows; each maps to one AWS region. */
export const STACK_REGIONS = { 'us-east': 'us-east-1', 'eu-west': 'eu-west-1' } as const
export type StackName = keyof typeof STACK_REGIONS

/** Days within which an erased user's files leave every bucket, replicas included (docs/gdpr.md). */
export const ERASURE_PROMISE_DAYS = 30

/** Role of the regional PostgreSQL: the writer, or a cross-region read replica of the other stack's writer. */
export type DatabaseRole = 'primary' | 'replica'

export interface NetworkConfig {
  /** VPC CIDR; a /16 is carved into /20 subnets. @default 10.0.0.0/16 */
  cidr: string
  /** Three availability zones. @default `<region>a,b,c` */
  azs: string[]
  /** Flow-log retention in days. @default 90 */
  flowLogRetentionDays: number
  /** The other region's VPC CIDR: routes and database ingress for cross-region writes. Must not overlap `cidr`. */
  peerCidr?: string
  /**
   * Requester side of the inter-region peering: the other region's VPC id (its `vpcId` output). The stack that
   * sets it creates the peering request; the other stack accepts it with `peeringConnectionId`.
   */
  peerVpcId?: string
  /** Accepter side: id of the peering connection the other stack requested (its `peeringConnectionId` output). */
  peeringConnectionId?: string
}

export interface DnsConfig {
  /** Route 53 hosted zone id that holds the API and static names. */
  zoneId: string
  /** Latency-routed API name shared by both regions, e.g. api.example.com. */
  apiDomain: string
  /** Name of this region's own API endpoint (certificate SAN, health checks), e.g. api.us-east.example.com. */
  regionalApiDomain: string
  /** CDN name for static assets, used by the stack that owns the CDN. */
  staticDomain: string
  /** Seconds between Route 53 health checks (10 or 30). @default 30 */
  healthCheckIntervalSeconds: 10 | 30
  /** Consecutive failed checks before a region stops receiving traffic. @default 3 */
  healthCheckFailureThreshold: number
  /**
   * The other region's Route 53 health check (its `healthCheckId` output). The us-east-1 stack alarms on it,
   * since Route 53 metrics exist only in us-east-1 and the other stack must own nothing there.
   */
  peerHealthCheckId?: string
}

export interface ServiceConfig {
  /** Container image URI of the service (ECR). */
  image: string
  /** Fargate task CPU units. @default 1024 */
  cpu: number
  /** Fargate task memory in MiB. @default 2048 */
  memory: number
  /** Port the service listens on inside the task. @default 3000 */
  port: number
  /** Autoscaling floor. @default 4 */
  minTasks: number
  /** Autoscaling ceiling. @default 50 */
  maxTasks: number
  /** Target-tracking and scale-out CPU percentage. @default 70 */
  cpuTarget: number
  /** Scale-in below this CPU percentage. @default 30 */
  scaleInCpu: number
  /** Minutes above the target before scaling out. @default 2 */
  scaleOutMinutes: number
  /** Minutes below scaleInCpu before scaling in. @default 10 */
  scaleInMinutes: number
  /** Fargate Spot weight against on-demand weight 1; 0 disables Spot. Cost: Spot is ~70% cheaper but interruptible. @default 0 */
  spotWeight: number
  /** Tasks always kept on on-demand Fargate. @default 4 */
  onDemandBase: number
  /** Seconds the ALB health check is ignored after a task starts. @default 60 */
  healthCheckGraceSeconds: number
  /** Seconds a container gets between SIGTERM and SIGKILL (Fargate caps at 120). @default 30 */
  stopTimeoutSeconds: number
  /** Command of the one-off migration task. @default ["node","dist/src/db/migrate-cli.js"] */
  migrationCommand: string[]
  /** Retention of the service log group, in days. @default 30 */
  logRetentionDays: number
  /** OpenTelemetry collector sidecar image (exports traces to X-Ray). */
  collectorImage: string
}

export interface DatabaseConfig {
  /** Whether this region holds the writer or a cross-region replica. @default primary */
  role: DatabaseRole
  /** RDS identifier; fixed for the instance's life. @default `<project>-<stack>-db` */
  identifier: string
  /** RDS instance class. @default db.r6g.2xlarge */
  instanceClass: string
  /** PostgreSQL major version. @default 17 */
  engineVersion: string
  /** Initial gp3 storage in GiB. @default 1000 */
  allocatedStorageGb: number
  /** Storage autoscaling ceiling in GiB. @default 2000 */
  maxAllocatedStorageGb: number
  /** Automated backup retention (enables point-in-time recovery). @default 7 */
  backupRetentionDays: number
  /** Same-region read replicas for read scaling. @default 0 */
  readReplicas: number
  /** Fully qualified stack holding the writer (`org/blueprint/us-east`); required for the replica role. */
  sourceStack?: string
  /** max_connections used for the connection alarm; derived from the instance class when unset. */
  maxConnections?: number
  /** Replica lag alarm threshold in seconds. @default 60 */
  replicaLagAlarmSeconds: number
}

export interface CacheConfig {
  /** ElastiCache node type. @default cache.r7g.xlarge (26.32 GiB) */
  nodeType: string
  /** Redis engine version. @default 7.1 */
  engineVersion: string
  /** Cluster-mode shards. @default 3 */
  shards: number
  /** Replicas per shard. @default 2 */
  replicasPerShard: number
  /** Daily snapshots kept. @default 7 */
  snapshotRetentionDays: number
}

export interface StorageConfig {
  /** Days before uploads and assets move to Intelligent-Tiering (never a class that needs a restore). @default 30 */
  tieringDays: number
  /** Days before logs move to Standard-IA. @default 30 */
  infrequentAccessDays: number
  /** Days before logs move to Glacier Flexible Retrieval (logs only: reading them back needs a restore). @default 90 */
  glacierDays: number
  /** Days before logs expire. @default 365 */
  logExpirationDays: number
  /** Days noncurrent versions are kept; bounds how long an erased user's files survive (docs/gdpr.md). @default 30 */
  noncurrentVersionDays: number
  /** Stack whose buckets receive this stack's objects (cross-region replication); off when unset. */
  replicateTo?: StackName
}

export interface AlarmConfig {
  /** Email subscribed to the alarm topic. */
  email: string
  /** ALB 5xx share of requests, percent. @default 1 */
  alb5xxPercent: number
  /** p95 target response time, milliseconds. @default 500 */
  p95LatencyMs: number
  /** DB connections as a percentage of max_connections. @default 80 */
  dbConnectionsPercent: number
  /** ECS service CPU percent. @default 80 */
  ecsCpuPercent: number
  /** RDS free storage as a percentage of allocated storage. @default 20 */
  dbFreeStoragePercent: number
  /** Redis engine CPU percent. @default 80 */
  redisCpuPercent: number
  /** Redis memory usage percent. @default 80 */
  redisMemoryPercent: number
}

export interface EdgeConfig {
  /** This stack owns the CloudFront distribution (exactly one stack should). @default false */
  cdn: boolean
  /** Stack whose assets bucket is the CDN's failover origin. */
  failoverStack?: StackName
  /** Fully qualified stack that owns the CDN (`org/blueprint/us-east`); its distribution may read our assets. */
  cdnStack?: string
  /** Requests per 5 minutes per IP before the edge WAF blocks. @default 2000 */
  rateLimit: number
}

/** Everything one stack needs, validated. */
export interface StackConfig {
  project: string
  stack: StackName
  region: string
  owner: string
  costCenter: string
  /** Protect stateful resources from `pulumi destroy` and replacement. @default true */
  protect: boolean
  /** Requests per 5 minutes per IP before the regional WAF blocks. @default 2000 */
  wafRateLimit: number
  network: NetworkConfig
  dns: DnsConfig
  service: ServiceConfig
  database: DatabaseConfig
  cache: CacheConfig
  storage: StorageConfig
  alarms: AlarmConfig
  edge: EdgeConfig
}

/** Raised when stack config is missing or impossible; the message says which `pulumi config set` fixes it. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Raw = Record<string, unknown>

/** Reads and validates this stack's configuration. */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject()
  const stack = pulumi.getStack()
  if (!(stack in STACK_REGIONS)) {
    throw new ConfigError(`unknown stack "${stack}"; stacks are ${Object.keys(STACK_REGIONS).join(', ')}`)
  }
  const stackName = stack as StackName
  const cfg = new pulumi.Config(project)
  const region = new pulumi.Config('aws').get('region') ?? STACK_REGIONS[stackName]
  if (region !== STACK_REGIONS[stackName]) {
    throw new ConfigError(
      `stack ${stack} runs in ${STACK_REGIONS[stackName]}, not ${region}; run: pulumi config set aws:region ${STACK_REGIONS[stackName]} --stack ${stack}`,
    )
  }
  const set = (key: string, example: string) =>
    `pulumi config set ${project}:${key} ${example} --stack ${stack}`
  const required = (key: string, example: string): string => {
    const v = cfg.get(key)
    if (!v) throw new ConfigError(`missing ${project}:${key}; run: ${set(key, example)}`)
    return v
  }
  const obj = (key: string): Raw => (cfg.getObject<Raw>(key) ?? {}) as Raw
  const section = (key: string) => reader(key, obj(key), set)

  const net = section('network')
  const dns = section('dns')
  const svc = section('service')
  const db = section('database')
  const cache = section('cache')
  const storage = section('storage')
  const alarms = section('alarms')
  const edge = section('edge')

  const config: StackConfig = {
    project,
    stack: stackName,
    region,
    owner: required('owner', 'platform-team'),
    costCenter: required('costCenter', 'cc-1234'),
    protect: cfg.getBoolean('protect') ?? true,
    wafRateLimit: cfg.getNumber('wafRateLimit') ?? 2000,
    network: {
      cidr: net.str('cidr', '10.0.0.0/16'),
      azs: net.list(
        'azs',
        ['a', 'b', 'c'].map((s) => `${region}${s}`),
      ),
      flowLogRetentionDays: net.int('flowLogRetentionDays', 90),
      peerCidr: net.optStr('peerCidr'),
      peerVpcId: net.optStr('peerVpcId'),
      peeringConnectionId: net.optStr('peeringConnectionId'),
    },
    dns: {
      zoneId: dns.str('zoneId'),
      apiDomain: dns.str('apiDomain'),
      regionalApiDomain: dns.str('regionalApiDomain'),
      staticDomain: dns.str('staticDomain'),
      healthCheckIntervalSeconds:
        dns.oneOf('healthCheckIntervalSeconds', ['10', '30'] as const, '30') === '10' ? 10 : 30,
      healthCheckFailureThreshold: dns.int('healthCheckFailureThreshold', 3),
      peerHealthCheckId: dns.optStr('peerHealthCheckId'),
    },
    service: {
      image: svc.str('image'),
      cpu: svc.int('cpu', 1024),
      memory: svc.int('memory', 2048),
      port: svc.int('port', 3000),
      minTasks: svc.int('minTasks', 4),
      maxTasks: svc.int('maxTasks', 50),
      cpuTarget: svc.int('cpuTarget', 70),
      scaleInCpu: svc.int('scaleInCpu', 30),
      scaleOutMinutes: svc.int('scaleOutMinutes', 2),
      scaleInMinutes: svc.int('scaleInMinutes', 10),
      spotWeight: svc.int('spotWeight', 0),
      onDemandBase: svc.int('onDemandBase', 4),
      healthCheckGraceSeconds: svc.int('healthCheckGraceSeconds', 60),
      stopTimeoutSeconds: svc.int('stopTimeoutSeconds', 30),
      migrationCommand: svc.list('migrationCommand', ['node', 'dist/src/db/migrate-cli.js']),
      logRetentionDays: svc.int('logRetentionDays', 30),
      collectorImage: svc.str(
        'collectorImage',
        'public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3',
      ),
    },
    database: {
      role: db.oneOf('role', ['primary', 'replica'] as const, 'primary'),
      identifier: db.str('identifier', `${project}-${stack}-db`),
      instanceClass: db.str('instanceClass', 'db.r6g.2xlarge'),
      engineVersion: db.str('engineVersion', '17'),
      allocatedStorageGb: db.int('allocatedStorageGb', 1000),
      maxAllocatedStorageGb: db.int('maxAllocatedStorageGb', 2000),
      backupRetentionDays: db.int('backupRetentionDays', 7),
      readReplicas: db.int('readReplicas', 0),
      sourceStack: db.optStr('sourceStack'),
      maxConnections: db.optInt('maxConnections'),
      replicaLagAlarmSeconds: db.int('replicaLagAlarmSeconds', 60),
    },
    cache: {
      nodeType: cache.str('nodeType', 'cache.r7g.xlarge'),
      engineVersion: cache.str('engineVersion', '7.1'),
      shards: cache.int('shards', 3),
      replicasPerShard: cache.int('replicasPerShard', 2),
      snapshotRetentionDays: cache.int('snapshotRetentionDays', 7),
    },
    storage: {
      tieringDays: storage.int('tieringDays', 30),
      infrequentAccessDays: storage.int('infrequentAccessDays', 30),
      glacierDays: storage.int('glacierDays', 90),
      logExpirationDays: storage.int('logExpirationDays', 365),
      noncurrentVersionDays: storage.int('noncurrentVersionDays', 30),
      replicateTo: storage.optOneOf('replicateTo', Object.keys(STACK_REGIONS) as StackName[]),
    },
    alarms: {
      email: alarms.str('email'),
      alb5xxPercent: alarms.num('alb5xxPercent', 1),
      p95LatencyMs: alarms.num('p95LatencyMs', 500),
      dbConnectionsPercent: alarms.num('dbConnectionsPercent', 80),
      ecsCpuPercent: alarms.num('ecsCpuPercent', 80),
      dbFreeStoragePercent: alarms.num('dbFreeStoragePercent', 20),
      redisCpuPercent: alarms.num('redisCpuPercent', 80),
      redisMemoryPercent: alarms.num('redisMemoryPercent', 80),
    },
    edge: {
      cdn: edge.bool('cdn', false),
      failoverStack: edge.optOneOf('failoverStack', Object.keys(STACK_REGIONS) as StackName[]),
      cdnStack: edge.optStr('cdnStack'),
      rateLimit: edge.int('rateLimit', 2000),
    },
  }
  validate(config, set)
  return config
}

type SetHint = (key: string, example: string) => string

function validate(c: StackConfig, set: SetHint): void {
  const fail = (msg: string, key: string, example: string) => {
    throw new ConfigError(`${msg}; run: ${set(key, example)}`)
  }
  if (!/^\d+\.\d+\.\d+\.\d+\/16$/.test(c.network.cidr)) {
    fail(`network.cidr must be a /16, got ${c.network.cidr}`, 'network.cidr', '10.10.0.0/16 --path')
  }
  const n = c.network
  if (n.peerCidr !== undefined && !/^\d+\.\d+\.\d+\.\d+\/16$/.test(n.peerCidr)) {
    fail(`network.peerCidr must be a /16, got ${n.peerCidr}`, 'network.peerCidr', '10.20.0.0/16 --path')
  }
  if (n.peerCidr === n.cidr) {
    // Peering refuses overlapping CIDRs; both stacks carve the same /20 layout from their /16.
    fail(`network.peerCidr overlaps network.cidr (${n.cidr})`, 'network.peerCidr', '10.20.0.0/16 --path')
  }
  if ((n.peerVpcId || n.peeringConnectionId) && !n.peerCidr) {
    fail('peering needs the other VPC CIDR', 'network.peerCidr', '10.20.0.0/16 --path')
  }
  if (n.peerVpcId && n.peeringConnectionId) {
    // One stack requests, the other accepts: a stack doing both would own a resource in the other region.
    fail(
      'set network.peerVpcId (requester) or network.peeringConnectionId (accepter), not both',
      'network.peeringConnectionId',
      '"" --path',
    )
  }
  if (c.network.azs.length !== 3)
    fail('network.azs must list 3 zones', 'network.azs[0]', `${c.region}a --path`)
  const s = c.service
  if (s.minTasks < 1 || s.maxTasks < s.minTasks) {
    fail(`service.minTasks..maxTasks is ${s.minTasks}..${s.maxTasks}`, 'service.maxTasks', '50 --path')
  }
  if (s.scaleInCpu >= s.cpuTarget) {
    fail('service.scaleInCpu must be below service.cpuTarget', 'service.scaleInCpu', '30 --path')
  }
  if (s.stopTimeoutSeconds < 2 || s.stopTimeoutSeconds > 120) {
    fail('service.stopTimeoutSeconds must be 2..120 on Fargate', 'service.stopTimeoutSeconds', '30 --path')
  }
  if (s.onDemandBase > s.minTasks) {
    fail(
      'service.onDemandBase cannot exceed service.minTasks',
      'service.onDemandBase',
      `${s.minTasks} --path`,
    )
  }
  const d = c.database
  if (d.role === 'replica' && !d.sourceStack) {
    fail('replica role needs database.sourceStack', 'database.sourceStack', 'my-org/blueprint/us-east --path')
  }
  if (d.role === 'replica' && d.readReplicas > 0) {
    fail(
      'a replica-role region cannot also run same-region read replicas',
      'database.readReplicas',
      '0 --path',
    )
  }
  if (d.maxAllocatedStorageGb < d.allocatedStorageGb) {
    fail(
      'database.maxAllocatedStorageGb is below allocatedStorageGb',
      'database.maxAllocatedStorageGb',
      '2000 --path',
    )
  }
  if (d.backupRetentionDays < 1) {
    fail(
      'backups (and point-in-time recovery) need backupRetentionDays >= 1',
      'database.backupRetentionDays',
      '7 --path',
    )
  }
  if (c.cache.shards < 1 || c.cache.replicasPerShard < 1) {
    fail(
      'cache needs >= 1 shard and >= 1 replica per shard for failover',
      'cache.replicasPerShard',
      '2 --path',
    )
  }
  const st = c.storage
  if (!(st.infrequentAccessDays >= 30 && st.glacierDays > st.infrequentAccessDays)) {
    // S3 refuses Standard-IA transitions earlier than 30 days.
    fail('storage needs infrequentAccessDays >= 30 < glacierDays', 'storage.glacierDays', '90 --path')
  }
  if (st.logExpirationDays <= st.glacierDays) {
    fail('storage.logExpirationDays must be after glacierDays', 'storage.logExpirationDays', '365 --path')
  }
  if (st.noncurrentVersionDays < 1 || st.noncurrentVersionDays > ERASURE_PROMISE_DAYS) {
    // docs/gdpr.md promises an erased user's files are gone from every bucket and replica within this window.
    fail(
      `storage.noncurrentVersionDays must be 1..${ERASURE_PROMISE_DAYS} (the erasure promise)`,
      'storage.noncurrentVersionDays',
      `${ERASURE_PROMISE_DAYS} --path`,
    )
  }
  if (st.replicateTo === c.stack)
    fail('storage.replicateTo names this stack', 'storage.replicateTo', 'eu-west --path')
  if (c.edge.cdn && c.region !== 'us-east-1') {
    // CloudFront certificates and CloudFront-scope WAF ACLs only exist in us-east-1.
    fail('the CDN must be owned by the us-east-1 stack', 'edge.cdn', 'false --path')
  }
  if (c.dns.peerHealthCheckId && c.region !== 'us-east-1') {
    fail(
      'only the us-east-1 stack alarms on health checks (Route 53 metrics live there)',
      'dns.peerHealthCheckId',
      '"" --path',
    )
  }
  if (c.edge.cdn && !c.edge.failoverStack) {
    fail('the CDN needs a failover origin stack', 'edge.failoverStack', 'eu-west --path')
  }
  if (c.edge.cdn && c.edge.failoverStack === c.stack) {
    fail('edge.failoverStack names this stack', 'edge.failoverStack', 'eu-west --path')
  }
}

function reader(section: string, raw: Raw, set: SetHint) {
  const where = (key: string) => `${section}.${key}`
  const missing = (key: string, example: string): never => {
    throw new ConfigError(`missing ${where(key)}; run: ${set(where(key), `${example} --path`)}`)
  }
  const bad = (key: string, want: string): never => {
    throw new ConfigError(`${where(key)} must be ${want}, got ${JSON.stringify(raw[key])}`)
  }
  return {
    str(key: string, dflt?: string): string {
      const v = raw[key]
      if (v === undefined || v === '') return dflt ?? missing(key, '<value>')
      return typeof v === 'string' ? v : bad(key, 'a string')
    },
    optStr(key: string): string | undefined {
      const v = raw[key]
      if (v === undefined || v === '') return undefined
      return typeof v === 'string' ? v : bad(key, 'a string')
    },
    num(key: string, dflt: number): number {
      const v = raw[key]
      if (v === undefined) return dflt
      const n = typeof v === 'string' ? Number(v) : v
      return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : bad(key, 'a non-negative number')
    },
    int(key: string, dflt: number): number {
      const n = this.num(key, dflt)
      return Number.isInteger(n) ? n : bad(key, 'an integer')
    },
    optInt(key: string): number | undefined {
      return raw[key] === undefined ? undefined : this.int(key, 0)
    },
    bool(key: string, dflt: boolean): boolean {
      const v = raw[key]
      if (v === undefined) return dflt
      if (v === true || v === 'true') return true
      if (v === false || v === 'false') return false
      return bad(key, 'true or false')
    },
    list(key: string, dflt: string[]): string[] {
      const v = raw[key]
      if (v === undefined) return dflt
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : bad(key, 'a list of strings')
    },
    oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
      const v = String(raw[key] ?? dflt)
      return allowed.includes(v as T) ? (v as T) : bad(key, `one of ${allowed.join('|')}`)
    },
    optOneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
      const v = raw[key]
      if (v === undefined || v === '') return undefined
      return allowed.includes(v as T) ? (v as T) : bad(key, `one of ${allowed.join('|')}`)
    },
  }
}
