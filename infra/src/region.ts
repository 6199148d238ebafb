import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { Cache } from './cache.js'
import { STACK_REGIONS, type StackConfig } from './config.js'
import { Database, defaultMaxConnections } from './database.js'
import { LatencyDns } from './dns.js'
import { Cdn } from './edge.js'
import { HEALTH_PATH, Ingress } from './ingress.js'
import { Keys } from './keys.js'
import { Mail } from './mail.js'
import { Network } from './network.js'
import { GlobalAlarmTopic, Observability } from './observability.js'
import { Service, TaskSecurityGroup } from './service.js'
import { bucketName, Storage } from './storage.js'

/** Tags every resource carries (through the provider's defaultTags). */
export function stackTags(cfg: StackConfig): Record<string, string> {
  return {
    project: cfg.project,
    stack: cfg.stack,
    region: cfg.region,
    owner: cfg.owner,
    'cost-center': cfg.costCenter,
  }
}

/** Values other stacks, the DR command and operators read from a region stack. */
export interface RegionOutputs {
  region: string
  albDnsName: pulumi.Output<string>
  albZoneId: pulumi.Output<string>
  healthCheckPath: string
  healthCheckUrl: pulumi.Output<string>
  dbIdentifier: string
  dbRole: string
  dbArn: pulumi.Output<string>
  dbEndpoint: pulumi.Output<string>
  dbAddress: pulumi.Output<string>
  dbSecretArn: pulumi.Output<string>
  dbMasterPassword: pulumi.Output<string>
  dbReadReplicaIdentifiers: string[]
  writerEndpointParameter: pulumi.Output<string>
  redisEndpoint: pulumi.Output<string>
  uploadsBucketName: pulumi.Output<string>
  uploadsBucketArn: pulumi.Output<string>
  assetsBucketName: pulumi.Output<string>
  assetsBucketArn: pulumi.Output<string>
  logsBucketName: pulumi.Output<string>
  logsBucketArn: pulumi.Output<string>
  kmsKeyArn: pulumi.Output<string>
  clusterName: pulumi.Output<string>
  serviceName: pulumi.Output<string>
  migrationTaskDefinitionArn: pulumi.Output<string>
  privateSubnetIds: pulumi.Output<string>[]
  serviceSecurityGroupId: pulumi.Output<string>
  alarmTopicArn: pulumi.Output<string>
  healthCheckId: pulumi.Output<string>
  cdnDistributionArn?: pulumi.Output<string>
  cdnDomainName?: pulumi.Output<string>
}

/** Builds everything one region needs from validated config. Callable repeatedly (tests build both stacks). */
export function buildRegion(cfg: StackConfig): RegionOutputs {
  const prefix = `${cfg.project}-${cfg.stack}`
  const provider = new aws.Provider(`${prefix}-aws`, {
    region: cfg.region,
    defaultTags: { tags: stackTags(cfg) },
  })
  const opts: pulumi.ComponentResourceOptions = { providers: [provider] }
  // Route 53 health-check metrics and CloudFront-scoped resources exist only in us-east-1.
  const globalProvider =
    cfg.region === 'us-east-1'
      ? provider
      : new aws.Provider(`${prefix}-aws-us-east-1`, {
          region: 'us-east-1',
          defaultTags: { tags: stackTags(cfg) },
        })
  const account = aws.getCallerIdentityOutput({}, { provider }).accountId

  // eu-west learns the writer's identity (and the CDN's) from us-east; us-east never references eu-west, and
  // bucket names are deterministic, so neither stack waits on the other's outputs to name replication targets.
  const refs = new Map<string, pulumi.StackReference>()
  const ref = (name: string | undefined) => {
    if (!name) return undefined
    const existing = refs.get(name)
    if (existing) return existing
    const created = new pulumi.StackReference(name)
    refs.set(name, created)
    return created
  }
  const source = ref(cfg.database.sourceStack)

  const keys = new Keys(prefix, { alias: `${prefix}-data`, protect: cfg.protect }, opts)
  const network = new Network(
    prefix,
    {
      cidr: cfg.network.cidr,
      azs: cfg.network.azs,
      flowLogRetentionDays: cfg.network.flowLogRetentionDays,
      kmsKeyArn: keys.keyArn,
    },
    opts,
  )
  const storage = new Storage(
    prefix,
    {
      project: cfg.project,
      stack: cfg.stack,
      region: cfg.region,
      kmsKeyArn: keys.keyArn,
      infrequentAccessDays: cfg.storage.infrequentAccessDays,
      glacierDays: cfg.storage.glacierDays,
      noncurrentVersionDays: cfg.storage.noncurrentVersionDays,
      replicateTo: cfg.storage.replicateTo && {
        stack: cfg.storage.replicateTo,
        region: STACK_REGIONS[cfg.storage.replicateTo],
        kmsAlias: `${cfg.project}-${cfg.storage.replicateTo}-data`,
      },
      protect: cfg.protect,
    },
    opts,
  )
  const ingress = new Ingress(
    prefix,
    {
      vpcId: network.vpcId,
      vpcCidr: network.cidr,
      publicSubnetIds: network.publicSubnetIds,
      zoneId: cfg.dns.zoneId,
      domains: [cfg.dns.regionalApiDomain, cfg.dns.apiDomain],
      // The home region (no sourceStack) owns the shared name's validation record; the other reuses it.
      validationRecordsFor: cfg.database.sourceStack
        ? [cfg.dns.regionalApiDomain]
        : [cfg.dns.regionalApiDomain, cfg.dns.apiDomain],
      targetPort: cfg.service.port,
      accessLogBucket: storage.logs.name,
      accessLogReady: [storage.logsPolicy],
      rateLimit: cfg.wafRateLimit,
    },
    opts,
  )
  const tasksSg = new TaskSecurityGroup(
    prefix,
    { vpcId: network.vpcId, albSecurityGroupId: ingress.securityGroupId, port: cfg.service.port },
    opts,
  )

  const db = cfg.database
  const database = new Database(
    prefix,
    {
      identifier: db.identifier,
      role: db.role,
      bornReplica: db.sourceStack !== undefined,
      sourceDbArn: source?.requireOutput('dbArn') as pulumi.Output<string> | undefined,
      sourceMasterPassword: source?.requireOutput('dbMasterPassword') as pulumi.Output<string> | undefined,
      writerEndpoint:
        db.role === 'replica' ? (source?.requireOutput('dbEndpoint') as pulumi.Output<string>) : undefined,
      instanceClass: db.instanceClass,
      engineVersion: db.engineVersion,
      allocatedStorageGb: db.allocatedStorageGb,
      maxAllocatedStorageGb: db.maxAllocatedStorageGb,
      backupRetentionDays: db.backupRetentionDays,
      readReplicas: db.readReplicas,
      vpcId: network.vpcId,
      subnetIds: network.isolatedSubnetIds,
      clientSecurityGroupId: tasksSg.id,
      kmsKeyArn: keys.keyArn,
      protect: cfg.protect,
    },
    opts,
  )
  const cache = new Cache(
    prefix,
    {
      replicationGroupId: `${prefix}-redis`,
      nodeType: cfg.cache.nodeType,
      engineVersion: cfg.cache.engineVersion,
      shards: cfg.cache.shards,
      replicasPerShard: cfg.cache.replicasPerShard,
      snapshotRetentionDays: cfg.cache.snapshotRetentionDays,
      vpcId: network.vpcId,
      subnetIds: network.isolatedSubnetIds,
      clientSecurityGroupId: tasksSg.id,
      kmsKeyArn: keys.keyArn,
      protect: cfg.protect,
    },
    opts,
  )

  // The writer's `host:port` lives in SSM so a promotion can repoint every task without a redeploy
  // (contract shared with the service and infra/dr: the value is `host:port` and nothing else).
  const writerEndpoint =
    db.role === 'primary' ? database.endpoint : (source?.requireOutput('dbEndpoint') as pulumi.Output<string>)
  const writerParameter = new aws.ssm.Parameter(
    `${prefix}-db-writer-endpoint`,
    {
      name: `/${cfg.project}/${cfg.stack}/db/writer-endpoint`,
      type: 'String',
      // `value` is always stored as a secret; a hostname is not one, and operators should see it in previews.
      insecureValue: writerEndpoint,
      description: 'host:port of the current PostgreSQL writer; the DR command rewrites it on promotion',
    },
    // After a promotion the DR command owns the value: a later `pulumi up` of the old primary's stack
    // must not point the services back at it, or two databases would take writes.
    { provider, ignoreChanges: ['insecureValue'] },
  )

  // Mail from the apex of the API's domain (api.example.com -> example.com).
  const mailDomain = cfg.dns.apiDomain.split('.').slice(1).join('.')
  const mail = new Mail(prefix, { domain: mailDomain, zoneId: cfg.dns.zoneId, region: cfg.region }, opts)
  const service = new Service(
    prefix,
    {
      ...cfg.service,
      clusterName: prefix,
      subnetIds: network.privateSubnetIds,
      securityGroupId: tasksSg.id,
      targetGroupArn: ingress.targetGroupArn,
      environment: {
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        TRUST_PROXY: network.cidr,
        COOKIE_SECURE: 'true',
        DATABASE_WRITER_ENDPOINT_SOURCE: pulumi.interpolate`ssm:${writerParameter.name}`,
        REDIS_CLUSTER: 'true',
        S3_BUCKET: storage.uploads.name,
        S3_REGION: cfg.region,
        ...mail.environment,
        APP_BASE_URL: `https://${cfg.dns.staticDomain}`,
      },
      secrets: [
        { name: 'DATABASE_URL', secretArn: database.urlSecretArn },
        { name: 'DATABASE_REPLICA_URL', secretArn: database.replicaUrlSecretArn },
        { name: 'REDIS_URL', secretArn: cache.urlSecretArn },
      ],
      kmsKeyArn: keys.keyArn,
      // The service keeps user uploads under users/<id>/; static assets are published by CI, not the service.
      bucketAccess: [{ arn: storage.uploads.arn, prefix: 'users' }],
      parameterArns: [writerParameter.arn],
      region: cfg.region,
      dependsOn: [ingress],
    },
    opts,
  )
  mail.grantSend(service.taskRoleName)

  const observability = new Observability(
    prefix,
    {
      email: cfg.alarms.email,
      kmsKeyArn: keys.keyArn,
      region: cfg.region,
      albArnSuffix: ingress.arnSuffix,
      targetGroupArnSuffix: ingress.targetGroupArnSuffix,
      clusterName: service.clusterName,
      serviceName: service.serviceName,
      dbIdentifier: db.identifier,
      replicaIdentifiers: [
        ...database.readReplicaIdentifiers,
        ...(db.role === 'replica' ? [db.identifier] : []),
      ],
      dbMaxConnections: db.maxConnections ?? defaultMaxConnections(db.instanceClass),
      dbAllocatedStorageGb: db.allocatedStorageGb,
      redisClusterIds: cache.memberClusterIds,
      alb5xxPercent: cfg.alarms.alb5xxPercent,
      p95LatencyMs: cfg.alarms.p95LatencyMs,
      dbConnectionsPercent: cfg.alarms.dbConnectionsPercent,
      ecsCpuPercent: cfg.alarms.ecsCpuPercent,
      dbFreeStoragePercent: cfg.alarms.dbFreeStoragePercent,
      replicaLagSeconds: db.replicaLagAlarmSeconds,
      redisCpuPercent: cfg.alarms.redisCpuPercent,
      redisMemoryPercent: cfg.alarms.redisMemoryPercent,
    },
    opts,
  )

  const globalTopicArn =
    cfg.region === 'us-east-1'
      ? observability.topicArn
      : new GlobalAlarmTopic(
          `${prefix}-global`,
          { email: cfg.alarms.email, keyAlias: `${prefix}-global-alarms`, protect: cfg.protect },
          { providers: [globalProvider] },
        ).topicArn
  const dns = new LatencyDns(
    prefix,
    {
      zoneId: cfg.dns.zoneId,
      apiDomain: cfg.dns.apiDomain,
      regionalApiDomain: cfg.dns.regionalApiDomain,
      setIdentifier: cfg.stack,
      region: cfg.region,
      albDnsName: ingress.dnsName,
      albZoneId: ingress.zoneId,
      healthPath: HEALTH_PATH,
      intervalSeconds: cfg.dns.healthCheckIntervalSeconds,
      failureThreshold: cfg.dns.healthCheckFailureThreshold,
      alarmTopicArn: globalTopicArn,
      globalProvider,
    },
    opts,
  )

  const failover = cfg.edge.failoverStack
  const cdn =
    cfg.edge.cdn && failover
      ? new Cdn(
          `${prefix}-cdn`,
          {
            zoneId: cfg.dns.zoneId,
            domain: cfg.dns.staticDomain,
            primaryOrigin: storage.assets.regionalDomainName,
            failoverOrigin: pulumi.interpolate`${bucketName(cfg.project, failover, 'assets', account)}.s3.${STACK_REGIONS[failover]}.amazonaws.com`,
            rateLimit: cfg.edge.rateLimit,
          },
          { providers: [globalProvider] },
        )
      : undefined
  const cdnStack = ref(cfg.edge.cdnStack)
  const readers = cdn
    ? [cdn.distributionArn]
    : cdnStack
      ? [cdnStack.requireOutput('cdnDistributionArn') as pulumi.Output<string>]
      : []
  storage.finishAssetsPolicy(prefix, readers)

  return {
    region: cfg.region,
    albDnsName: ingress.dnsName,
    albZoneId: ingress.zoneId,
    healthCheckPath: HEALTH_PATH,
    healthCheckUrl: pulumi.interpolate`https://${cfg.dns.regionalApiDomain}${HEALTH_PATH}`,
    dbIdentifier: db.identifier,
    dbRole: db.role,
    dbArn: database.arn,
    dbEndpoint: database.endpoint,
    dbAddress: database.address,
    dbSecretArn: database.masterSecretArn,
    dbMasterPassword: database.masterPassword,
    dbReadReplicaIdentifiers: database.readReplicaIdentifiers,
    writerEndpointParameter: writerParameter.name,
    redisEndpoint: cache.configurationEndpoint,
    uploadsBucketName: storage.uploads.name,
    uploadsBucketArn: storage.uploads.arn,
    assetsBucketName: storage.assets.name,
    assetsBucketArn: storage.assets.arn,
    logsBucketName: storage.logs.name,
    logsBucketArn: storage.logs.arn,
    kmsKeyArn: keys.keyArn,
    clusterName: service.clusterName,
    serviceName: service.serviceName,
    migrationTaskDefinitionArn: service.migrationTaskDefinitionArn,
    privateSubnetIds: network.privateSubnetIds,
    serviceSecurityGroupId: tasksSg.id,
    alarmTopicArn: observability.topicArn,
    healthCheckId: dns.healthCheckId,
    ...(cdn ? { cdnDistributionArn: cdn.distributionArn, cdnDomainName: cdn.domainName } : {}),
  }
}
