import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import {
  DB_APP_ROLE,
  DB_MASTER_USER,
  DB_MIGRATOR_ROLE,
  DB_NAME,
  ENV,
  ssmParameters,
} from '../../app/src/contract.js'
import { Cache } from './cache.js'
import { STACK_REGIONS, type StackConfig, type StackName } from './config.js'
import { Database, defaultMaxConnections } from './database.js'
import { healthCheckAlarm, LatencyDns } from './dns.js'
import { Cdn } from './edge.js'
import { HEALTH_PATH, Ingress } from './ingress.js'
import { Keys } from './keys.js'
import { Mail } from './mail.js'
import { Network, type PeerArgs, taskSubnetCidrs } from './network.js'
import { Observability } from './observability.js'
import { Service, TaskSecurityGroup } from './service.js'
import { bucketName, Storage } from './storage.js'
import { collectorEnvironment, Telemetry } from './telemetry.js'

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

/**
 * The stack in us-east-1 owns what exists once per account or only in us-east-1: CloudFront and its WAF, the
 * Route 53 health-check alarms, the shared API name's validation record. The other region owns nothing there,
 * so its DR path needs no us-east-1 API.
 */
export function ownsGlobal(cfg: StackConfig): boolean {
  return cfg.region === 'us-east-1'
}

/** This stack's side of the inter-region peering, from config (see docs/infrastructure.md for the order). */
function peerOf(cfg: StackConfig): PeerArgs | undefined {
  const n = cfg.network
  if (!n.peerCidr) return undefined
  const other = (Object.keys(STACK_REGIONS) as StackName[]).find((s) => s !== cfg.stack) as StackName
  return {
    cidr: n.peerCidr,
    ...(n.peerVpcId ? { request: { vpcId: n.peerVpcId, region: STACK_REGIONS[other] } } : {}),
    ...(n.peeringConnectionId ? { accept: { connectionId: n.peeringConnectionId } } : {}),
  }
}

/** DATABASE_URL of `role` at `endpoint`: no password (IAM tokens, or the injected master secret), TLS verified. */
function databaseUrl(endpoint: pulumi.Input<string>, role = DB_APP_ROLE): pulumi.Output<string> {
  return pulumi.interpolate`postgresql://${role}@${endpoint}/${DB_NAME}?sslmode=verify-full`
}

/** Values other stacks, the DR command and operators read from a region stack. */
export interface RegionOutputs {
  region: string
  vpcId: pulumi.Output<string>
  /** Set once this stack requested (eu-west) or accepted (us-east) the inter-region peering. */
  peeringConnectionId?: pulumi.Output<string>
  albDnsName: pulumi.Output<string>
  albZoneId: pulumi.Output<string>
  healthCheckPath: string
  healthCheckUrl: pulumi.Output<string>
  dbIdentifier: string
  dbRole: string
  dbArn: pulumi.Output<string>
  dbEndpoint: pulumi.Output<string>
  dbAddress: pulumi.Output<string>
  /** The RDS-managed master secret of a born primary, while RDS manages the password (docs/infrastructure.md). */
  dbSecretArn?: pulumi.Output<string>
  dbReadReplicaIdentifiers: string[]
  writerEndpointParameter: pulumi.Output<string>
  /** SSM parameter holding the image URI the region runs (the deploy workflow writes it). */
  imageParameter: pulumi.Output<string>
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
  /** The role bootstrap the deploy job runs as the master while the managed secret exists (docs/delivery.md). */
  bootstrapTaskDefinitionArn: pulumi.Output<string>
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
      peer: peerOf(cfg),
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
      tieringDays: cfg.storage.tieringDays,
      infrequentAccessDays: cfg.storage.infrequentAccessDays,
      glacierDays: cfg.storage.glacierDays,
      logExpirationDays: cfg.storage.logExpirationDays,
      noncurrentVersionDays: cfg.storage.noncurrentVersionDays,
      webOrigins: [`https://${cfg.dns.staticDomain}`],
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
      // The shared name's validation record belongs to the global stack for good: not to whichever region holds
      // the writer, which flips on promotion and failback and would hand the record between stacks.
      validationRecordsFor: ownsGlobal(cfg)
        ? [cfg.dns.regionalApiDomain, cfg.dns.apiDomain]
        : [cfg.dns.regionalApiDomain],
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
      instanceClass: db.instanceClass,
      engineVersion: db.engineVersion,
      allocatedStorageGb: db.allocatedStorageGb,
      maxAllocatedStorageGb: db.maxAllocatedStorageGb,
      backupRetentionDays: db.backupRetentionDays,
      readReplicas: db.readReplicas,
      vpcId: network.vpcId,
      subnetIds: network.isolatedSubnetIds,
      clientSecurityGroupId: tasksSg.id,
      peerClientCidrs: cfg.network.peerCidr ? taskSubnetCidrs(cfg.network.peerCidr) : [],
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
      name: ssmParameters.writerEndpoint(cfg.project, cfg.stack),
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

  // The image the region runs lives in SSM, not in the runner's copy of the stack file: the deploy workflow writes
  // it and runs `pulumi up --refresh`; previews, the drift job and an operator's laptop read the same value from
  // state (refreshed from SSM). `service.image` only seeds it when the stack is created.
  const imageParameter = new aws.ssm.Parameter(
    `${prefix}-service-image`,
    {
      name: ssmParameters.serviceImage(cfg.project, cfg.stack),
      type: 'String',
      insecureValue: cfg.service.image,
      description: 'Image URI the service runs; written by the deploy workflow (docs/delivery.md)',
    },
    { provider, ignoreChanges: ['insecureValue'] },
  )

  const service = new Service(
    prefix,
    {
      ...cfg.service,
      deployedImage: imageParameter.insecureValue,
      clusterName: prefix,
      subnetIds: network.privateSubnetIds,
      securityGroupId: tasksSg.id,
      targetGroupArn: ingress.targetGroupArn,
      environment: {
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        TRUST_PROXY: network.cidr,
        COOKIE_SECURE: 'true',
        [ENV.writerEndpointSource]: pulumi.interpolate`ssm:${writerParameter.name}`,
        // The application role with IAM tokens: these URLs hold no password, so they are plain environment.
        [ENV.databaseUrl]: databaseUrl(writerEndpoint),
        [ENV.databaseReplicaUrl]: databaseUrl(database.readerEndpoint),
        [ENV.databaseIamAuth]: 'true',
        [ENV.redisCluster]: 'true',
        [ENV.s3Bucket]: storage.uploads.name,
        [ENV.s3Region]: cfg.region,
        ...mail.environment,
        APP_BASE_URL: `https://${cfg.dns.staticDomain}`,
        // The web client on the static domain calls the API with credentials (docs/web.md).
        WEB_ORIGINS: `https://${cfg.dns.staticDomain}`,
        PUBLIC_API_URL: `https://${cfg.dns.apiDomain}`,
        API_DOCS_UI: 'false',
      },
      secrets: [{ name: ENV.redisUrl, secretArn: cache.urlSecretArn }],
      // Migrations run as the schema owner (DB_MIGRATOR_ROLE) with IAM tokens, at whichever writer SSM names.
      migration: {
        environment: { [ENV.databaseUrl]: databaseUrl(writerEndpoint, DB_MIGRATOR_ROLE) },
        databaseConnectArns: [pulumi.interpolate`arn:aws:rds-db:*:${account}:dbuser:*/${DB_MIGRATOR_ROLE}`],
      },
      // The master creates those roles once; the deploy job injects the RDS-managed secret into this task only.
      bootstrap: {
        command: ['node', 'dist/src/db/bootstrap-cli.js'],
        environment: {
          [ENV.databaseUrl]: databaseUrl(writerEndpoint, DB_MASTER_USER),
          [ENV.writerEndpointSource]: pulumi.interpolate`ssm:${writerParameter.name}`,
        },
        masterDbInstanceArn: database.arn,
      },
      // Any region's instance: tasks write to the other region's writer (normal or promoted topology).
      databaseConnectArns: [pulumi.interpolate`arn:aws:rds-db:*:${account}:dbuser:*/${DB_APP_ROLE}`],
      kmsKeyArn: keys.keyArn,
      // The service keeps user uploads under users/<id>/; static assets are published by CI, not the service.
      bucketAccess: [{ arn: storage.uploads.arn, prefix: 'users' }],
      parameterArns: [writerParameter.arn],
      region: cfg.region,
      collectorEnvironment: collectorEnvironment(prefix, cfg.region),
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

  new Telemetry(
    prefix,
    {
      region: cfg.region,
      taskRoleName: service.taskRoleName,
      kmsKeyArn: keys.keyArn,
      alarmTopicArn: observability.topicArn,
      errorRatePercent: cfg.alarms.alb5xxPercent,
      p95LatencyMs: cfg.alarms.p95LatencyMs,
      poolSaturationPercent: cfg.alarms.dbConnectionsPercent,
    },
    opts,
  )
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
      // Route 53 publishes health-check metrics in us-east-1 only: the global stack alarms on both regions'.
      ...(ownsGlobal(cfg) ? { alarmTopicArn: observability.topicArn } : {}),
    },
    opts,
  )
  if (ownsGlobal(cfg) && cfg.dns.peerHealthCheckId) {
    healthCheckAlarm(
      `${prefix}-peer-health`,
      cfg.dns.peerHealthCheckId,
      `the other region's API (health check ${cfg.dns.peerHealthCheckId})`,
      observability.topicArn,
      { provider },
    )
  }

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
            apiOrigin: `https://${cfg.dns.apiDomain}`,
          },
          // The CDN is only allowed in the us-east-1 stack (config validation): its region provider is global.
          { providers: [provider] },
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
    vpcId: network.vpcId,
    ...(network.peeringConnectionId ? { peeringConnectionId: network.peeringConnectionId } : {}),
    albDnsName: ingress.dnsName,
    albZoneId: ingress.zoneId,
    healthCheckPath: HEALTH_PATH,
    healthCheckUrl: pulumi.interpolate`https://${cfg.dns.regionalApiDomain}${HEALTH_PATH}`,
    dbIdentifier: db.identifier,
    dbRole: db.role,
    dbArn: database.arn,
    dbEndpoint: database.endpoint,
    dbAddress: database.address,
    ...(database.masterSecretArn ? { dbSecretArn: database.masterSecretArn } : {}),
    dbReadReplicaIdentifiers: database.readReplicaIdentifiers,
    writerEndpointParameter: writerParameter.name,
    imageParameter: imageParameter.name,
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
    bootstrapTaskDefinitionArn: service.bootstrapTaskDefinitionArn as pulumi.Output<string>,
    privateSubnetIds: network.privateSubnetIds,
    serviceSecurityGroupId: tasksSg.id,
    alarmTopicArn: observability.topicArn,
    healthCheckId: dns.healthCheckId,
    ...(cdn ? { cdnDistributionArn: cdn.distributionArn, cdnDomainName: cdn.domainName } : {}),
  }
}
