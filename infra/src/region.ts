import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import {
  DB_APP_ROLE,
  DB_MASTER_USER,
  DB_MIGRATOR_ROLE,
  DB_NAME,
  ENV,
  HEALTH_READY_PATH,
  hashConcurrencyFor,
  STACK_REGIONS,
  type StackName,
  ssmParameters,
  TAG_KEYS,
  threadPoolSizeFor,
} from '../../app/src/contract.js'
import { Cache } from './cache.js'
import type { StackConfig } from './config.js'
import { Database } from './database.js'
import { healthCheckAlarm, LatencyDns } from './dns.js'
import { Cdn } from './edge.js'
import { Ingress } from './ingress.js'
import { Keys } from './keys.js'
import { Mail } from './mail.js'
import { Network, type PeerArgs, taskSubnetCidrs } from './network.js'
import { Observability, type ObservabilityArgs } from './observability.js'
import { Service, TaskSecurityGroup } from './service.js'
import { bucketName, Storage } from './storage.js'
import { collectorEnvironment, Telemetry } from './telemetry.js'

/** Builds everything one region needs from validated config. Callable repeatedly (tests build both stacks). */
export function buildRegion(cfg: StackConfig) {
  const ctx = regionContext(cfg)
  const { prefix, opts } = ctx
  const keys = new Keys(prefix, { alias: `${prefix}-data`, protect: cfg.protect }, opts)
  const network = new Network(prefix, { ...cfg.network, kmsKeyArn: keys.keyArn, peer: peerOf(cfg) }, opts)
  const storage = buildStorage(ctx, keys)
  const ingress = buildIngress(ctx, network, storage)
  const tasks = new TaskSecurityGroup(
    prefix,
    { vpcId: network.vpcId, albSecurityGroupId: ingress.securityGroupId, port: cfg.service.port },
    opts,
  )
  // Where the stateful services sit and who may reach them: isolated subnets, the tasks' group, the region's key.
  const placement = {
    vpcId: network.vpcId,
    subnetIds: network.isolatedSubnetIds,
    clientSecurityGroupId: tasks.id,
    kmsKeyArn: keys.keyArn,
    protect: cfg.protect,
  }
  const database = buildDatabase(ctx, placement)
  const cache = new Cache(prefix, { ...cfg.cache, replicationGroupId: `${prefix}-redis`, ...placement }, opts)
  const parameters = buildParameters(ctx, database)
  const mail = new Mail(prefix, { domain: mailDomain(cfg), zoneId: cfg.dns.zoneId, region: cfg.region }, opts)
  const service = buildService(ctx, {
    keys,
    network,
    storage,
    ingress,
    tasks,
    database,
    cache,
    parameters,
    mail,
  })
  mail.grantSend(service.taskRoleName)
  const observability = buildObservability(ctx, { keys, ingress, service, database, cache })
  buildTelemetry(ctx, keys, service, observability)
  const dns = buildDns(ctx, ingress, observability)
  const cdn = buildEdge(ctx, storage)

  // The stack's outputs (infra/index.ts exports this object): what other stacks, the DR command and CI read.
  return {
    vpcId: network.vpcId,
    /** Set once this stack requested (eu-west) or accepted (us-east) the inter-region peering. */
    ...(network.peeringConnectionId ? { peeringConnectionId: network.peeringConnectionId } : {}),
    albDnsName: ingress.dnsName,
    albZoneId: ingress.zoneId,
    healthCheckPath: HEALTH_READY_PATH,
    healthCheckUrl: pulumi.interpolate`https://${cfg.dns.regionalApiDomain}${HEALTH_READY_PATH}`,
    dbIdentifier: cfg.database.identifier,
    dbRole: cfg.database.role,
    dbArn: database.arn,
    dbEndpoint: database.endpoint,
    dbAddress: database.address,
    // No output names the RDS-managed master secret: it exists only until the operator releases management, and an
    // output (state) would keep naming a secret RDS deleted. Readers ask RDS (docs/runbooks/database-credentials.md).
    dbReadReplicaIdentifiers: database.readReplicaIdentifiers,
    writerEndpointParameter: parameters.writer.name,
    /** SSM parameter holding the image URI the region runs (the deploy workflow writes it). */
    imageParameter: parameters.image.name,
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
    /** The role bootstrap the deploy job runs as the master while the managed secret exists (docs/delivery.md). */
    bootstrapTaskDefinitionArn: service.bootstrapTaskDefinitionArn as pulumi.Output<string>,
    privateSubnetIds: network.privateSubnetIds,
    serviceSecurityGroupId: tasks.id,
    alarmTopicArn: observability.topicArn,
    healthCheckId: dns.healthCheckId,
    ...(cdn ? { cdnDistributionArn: cdn.distributionArn, cdnDomainName: cdn.domainName } : {}),
  }
}

/** Values other stacks, the DR command and operators read from a region stack (its outputs), declared once above. */
export type RegionOutputs = ReturnType<typeof buildRegion>

/** What every step of a region shares: its config, naming prefix, provider and stack references. */
interface RegionContext {
  cfg: StackConfig
  prefix: string
  provider: aws.Provider
  opts: pulumi.ComponentResourceOptions
  account: pulumi.Output<string>
  /** The outputs of a fully qualified stack (one StackReference per stack), or undefined when `name` is unset. */
  ref(name: string | undefined): PeerOutputs | undefined
}

/** Another region stack's outputs, read by the names this program declares (a renamed output fails typecheck). */
export interface PeerOutputs {
  require<K extends RegionOutputName>(name: K): pulumi.Output<string>
}

/** Names of every output a region stack declares (buildRegion's return value). */
export type RegionOutputKey = keyof RegionOutputs

/** Names of the string outputs a region stack declares (buildRegion's return value). */
export type RegionOutputName = {
  [K in keyof RegionOutputs]-?: NonNullable<RegionOutputs[K]> extends pulumi.Output<string> | string
    ? K
    : never
}[keyof RegionOutputs]

/** Reads a region stack's outputs by declared name. */
export function peerOutputs(ref: pulumi.StackReference): PeerOutputs {
  return { require: (name) => ref.requireOutput(name) as pulumi.Output<string> }
}

function regionContext(cfg: StackConfig): RegionContext {
  const prefix = `${cfg.project}-${cfg.stack}`
  const provider = new aws.Provider(`${prefix}-aws`, {
    region: cfg.region,
    defaultTags: { tags: stackTags(cfg) },
  })
  // eu-west learns the writer's identity (and the CDN's) from us-east; us-east never references eu-west, and
  // bucket names are deterministic, so neither stack waits on the other's outputs to name replication targets.
  const refs = new Map<string, PeerOutputs>()
  const ref = (name: string | undefined) => {
    if (!name) return undefined
    const existing = refs.get(name) ?? peerOutputs(new pulumi.StackReference(name))
    refs.set(name, existing)
    return existing
  }
  return {
    cfg,
    prefix,
    provider,
    opts: { providers: [provider] },
    account: aws.getCallerIdentityOutput({}, { provider }).accountId,
    ref,
  }
}

/** Tags every resource carries (through the provider's defaultTags). */
export function stackTags(cfg: StackConfig): Record<string, string> {
  return {
    [TAG_KEYS.project]: cfg.project,
    [TAG_KEYS.stack]: cfg.stack,
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

/** Mail goes out from the apex of the API's domain (api.example.com -> example.com). */
function mailDomain(cfg: StackConfig): string {
  return cfg.dns.apiDomain.split('.').slice(1).join('.')
}

/** DATABASE_URL of `role` at `endpoint`: no password (IAM tokens, or the injected master secret), TLS verified. */
function databaseUrl(endpoint: pulumi.Input<string>, role = DB_APP_ROLE): pulumi.Output<string> {
  return pulumi.interpolate`postgresql://${role}@${endpoint}/${DB_NAME}?sslmode=verify-full`
}

function buildStorage({ cfg, prefix, opts }: RegionContext, keys: Keys): Storage {
  const target = cfg.storage.replicateTo
  return new Storage(
    prefix,
    {
      ...cfg.storage,
      project: cfg.project,
      stack: cfg.stack,
      region: cfg.region,
      kmsKeyArn: keys.keyArn,
      webOrigins: [`https://${cfg.dns.staticDomain}`],
      replicateTo: target && {
        stack: target,
        region: STACK_REGIONS[target],
        kmsAlias: `${cfg.project}-${target}-data`,
      },
      protect: cfg.protect,
    },
    opts,
  )
}

function buildIngress({ cfg, prefix, opts }: RegionContext, network: Network, storage: Storage): Ingress {
  return new Ingress(
    prefix,
    {
      network,
      storage,
      zoneId: cfg.dns.zoneId,
      domains: [cfg.dns.regionalApiDomain, cfg.dns.apiDomain],
      // The shared name's validation record belongs to the global stack for good: not to whichever region holds
      // the writer, which flips on promotion and failback and would hand the record between stacks.
      validationRecordsFor: ownsGlobal(cfg)
        ? [cfg.dns.regionalApiDomain, cfg.dns.apiDomain]
        : [cfg.dns.regionalApiDomain],
      targetPort: cfg.service.port,
      rateLimit: cfg.wafRateLimit,
    },
    opts,
  )
}

/** The writer's `host:port`: this region's instance when it is the primary, else the source stack's. */
function writerEndpoint(ctx: RegionContext, database: Database): pulumi.Output<string> {
  const source = ctx.ref(ctx.cfg.database.sourceStack)
  return ctx.cfg.database.role === 'primary'
    ? database.endpoint
    : (source?.require('dbEndpoint') as pulumi.Output<string>)
}

type Placement = Pick<
  ConstructorParameters<typeof Database>[1],
  'vpcId' | 'subnetIds' | 'clientSecurityGroupId' | 'kmsKeyArn' | 'protect'
>

function buildDatabase({ cfg, prefix, opts, ref }: RegionContext, placement: Placement): Database {
  const db = cfg.database
  const source = ref(db.sourceStack)
  return new Database(
    prefix,
    {
      ...db,
      bornReplica: db.sourceStack !== undefined,
      sourceDbArn: source?.require('dbArn'),
      peerClientCidrs: cfg.network.peerCidr ? taskSubnetCidrs(cfg.network.peerCidr) : [],
      ...placement,
    },
    opts,
  )
}

/** The two SSM parameters other actors write: the writer endpoint (the DR command) and the image (the deploy). */
function buildParameters(ctx: RegionContext, database: Database) {
  const { cfg, prefix, provider } = ctx
  // The writer's `host:port` lives in SSM so a promotion can repoint every task without a redeploy
  // (contract shared with the service and infra/dr: the value is `host:port` and nothing else).
  const writer = new aws.ssm.Parameter(
    `${prefix}-db-writer-endpoint`,
    {
      name: ssmParameters.writerEndpoint(cfg.project, cfg.stack),
      type: 'String',
      // `value` is always stored as a secret; a hostname is not one, and operators should see it in previews.
      insecureValue: writerEndpoint(ctx, database),
      description: 'host:port of the current PostgreSQL writer; the DR command rewrites it on promotion',
    },
    // After a promotion the DR command owns the value: a later `pulumi up` of the old primary's stack
    // must not point the services back at it, or two databases would take writes.
    { provider, ignoreChanges: ['insecureValue'] },
  )
  // The image the region runs lives in SSM, not in the runner's copy of the stack file: the deploy workflow writes
  // it and refreshes this parameter before `pulumi up`; previews, the drift job and an operator's laptop read the
  // same value from state (refreshed from SSM). `service.image` only seeds it when the stack is created.
  const image = new aws.ssm.Parameter(
    `${prefix}-service-image`,
    {
      name: ssmParameters.serviceImage(cfg.project, cfg.stack),
      type: 'String',
      insecureValue: cfg.service.image,
      description: 'Image URI the service runs; written by the deploy workflow (docs/delivery.md)',
    },
    { provider, ignoreChanges: ['insecureValue'] },
  )
  return { writer, image }
}

interface ServiceDeps {
  keys: Keys
  network: Network
  storage: Storage
  ingress: Ingress
  tasks: TaskSecurityGroup
  database: Database
  cache: Cache
  parameters: ReturnType<typeof buildParameters>
  mail: Mail
}

function buildService(ctx: RegionContext, d: ServiceDeps): Service {
  const { cfg, prefix, opts, account } = ctx
  return new Service(
    prefix,
    {
      ...cfg.service,
      deployedImage: d.parameters.image.insecureValue,
      clusterName: prefix,
      network: d.network,
      tasks: d.tasks,
      ingress: d.ingress,
      environment: {
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        TRUST_PROXY: d.network.cidr,
        COOKIE_SECURE: 'true',
        [ENV.writerEndpointSource]: pulumi.interpolate`ssm:${d.parameters.writer.name}`,
        // The application role with IAM tokens: these URLs hold no password, so they are plain environment.
        [ENV.databaseUrl]: databaseUrl(writerEndpoint(ctx, d.database)),
        [ENV.databaseReplicaUrl]: databaseUrl(d.database.readerEndpoint),
        [ENV.databaseIamAuth]: 'true',
        // The service's ElastiCache user with IAM tokens: no password, so plain environment too.
        [ENV.redisUrl]: pulumi.interpolate`rediss://${d.cache.serviceUserId}@${d.cache.configurationEndpoint}:6379`,
        [ENV.redisCluster]: 'true',
        [ENV.redisIamAuth]: 'true',
        [ENV.redisIamReplicationGroupId]: d.cache.replicationGroupId,
        [ENV.redisIamRegion]: cfg.region,
        [ENV.s3Bucket]: d.storage.uploads.name,
        [ENV.s3Region]: cfg.region,
        // The container sees the host's CPUs; the task has `cpu` units of them (1024 per vCPU).
        [ENV.passwordHashConcurrency]: String(hashConcurrencyFor(cfg.service.cpu / 1024)),
        [ENV.uvThreadPoolSize]: String(threadPoolSizeFor(hashConcurrencyFor(cfg.service.cpu / 1024))),
        ...d.mail.environment,
        APP_BASE_URL: `https://${cfg.dns.staticDomain}`,
        // The web client on the static domain calls the API with credentials (docs/web.md).
        WEB_ORIGINS: `https://${cfg.dns.staticDomain}`,
        PUBLIC_API_URL: `https://${cfg.dns.apiDomain}`,
        API_DOCS_UI: 'false',
        // Until the operator has set the seed key (service.mfaEncryption), production may store TOTP seeds
        // unsealed, and says so at boot; with it, MFA_ENCRYPTION_KEY comes from Secrets Manager.
        ...(cfg.service.mfaEncryption ? {} : { [ENV.mfaEncryptionOptional]: 'true' }),
      },
      secrets: [],
      // Migrations run as the schema owner (DB_MIGRATOR_ROLE) with IAM tokens, at whichever writer SSM names.
      migration: {
        environment: { [ENV.databaseUrl]: databaseUrl(writerEndpoint(ctx, d.database), DB_MIGRATOR_ROLE) },
        databaseConnectArns: [pulumi.interpolate`arn:aws:rds-db:*:${account}:dbuser:*/${DB_MIGRATOR_ROLE}`],
      },
      // The master creates those roles once; the deploy job injects the RDS-managed secret into this task only.
      bootstrap: {
        command: ['node', 'dist/src/db/bootstrap-cli.js'],
        environment: {
          [ENV.databaseUrl]: databaseUrl(writerEndpoint(ctx, d.database), DB_MASTER_USER),
          [ENV.writerEndpointSource]: pulumi.interpolate`ssm:${d.parameters.writer.name}`,
        },
        masterDbInstanceArn: d.database.arn,
      },
      // Any region's instance: tasks write to the other region's writer (normal or promoted topology).
      databaseConnectArns: [pulumi.interpolate`arn:aws:rds-db:*:${account}:dbuser:*/${DB_APP_ROLE}`],
      // The IAM login to this region's Redis: exactly its replication group and the service's user.
      redisConnectArns: [d.cache.replicationGroupArn, d.cache.serviceUserArn],
      keys: d.keys,
      // The service keeps user uploads under users/<id>/; static assets are published by CI, not the service.
      bucketAccess: [{ arn: d.storage.uploads.arn, prefix: 'users' }],
      parameterArns: [d.parameters.writer.arn],
      region: cfg.region,
      collectorEnvironment: collectorEnvironment(prefix, cfg.region),
    },
    opts,
  )
}

function buildObservability(
  { cfg, prefix, opts }: RegionContext,
  d: Pick<ObservabilityArgs, 'keys' | 'ingress' | 'service' | 'cache'> & { database: Database },
): Observability {
  return new Observability(
    prefix,
    {
      ...cfg.alarms,
      region: cfg.region,
      ...d,
      // Its config section sizes the alarms; the component knows the readers it created.
      database: { ...cfg.database, readReplicaIdentifiers: d.database.readReplicaIdentifiers },
    },
    opts,
  )
}

function buildTelemetry(
  { cfg, prefix, opts }: RegionContext,
  keys: Keys,
  service: Service,
  observability: Observability,
): Telemetry {
  return new Telemetry(
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
}

function buildDns(
  { cfg, prefix, opts, provider }: RegionContext,
  ingress: Ingress,
  observability: Observability,
): LatencyDns {
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
      healthPath: HEALTH_READY_PATH,
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
  return dns
}

/** The CDN (us-east-1 stack only) and the assets bucket policy that lets a distribution read this region's assets. */
function buildEdge(ctx: RegionContext, storage: Storage): Cdn | undefined {
  const { cfg, prefix, provider, account } = ctx
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
  const cdnStack = ctx.ref(cfg.edge.cdnStack)
  const readers = cdn ? [cdn.distributionArn] : cdnStack ? [cdnStack.require('cdnDistributionArn')] : []
  storage.finishAssetsPolicy(prefix, readers)
  return cdn
}
