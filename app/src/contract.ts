/**
 * Names the service, the Pulumi program (infra/src) and the DR command (infra/dr) must agree on. The
 * service compiles this file into its image; infra imports it by relative path. It imports nothing, so
 * either side can load it without the other's dependencies. Change a name here and all three follow.
 */

/** The Pulumi project every stack belongs to (`name` in Pulumi.yaml; the `<project>:` config namespace). */
export const PROJECT = 'blueprint'

/** The stacks of the reference design and their AWS regions, writer region first. */
export const STACK_REGIONS = { 'us-east': 'us-east-1', 'eu-west': 'eu-west-1' } as const
export type StackName = keyof typeof STACK_REGIONS

/** Tag keys every resource carries (provider defaultTags); the DR command finds health checks by them. */
export const TAG_KEYS = { project: 'project', stack: 'stack' } as const

/**
 * RDS identifiers by convention: `<project>-<stack>-db` (the config default), and `-replica` for an instance a
 * failback rebuilt (the old one is retained, so the new one needs another name). The DR command tries both.
 */
export function dbIdentifiers(project: string, stack: string): [string, string] {
  return [`${project}-${stack}-db`, `${project}-${stack}-db-replica`]
}

/** PostgreSQL port on RDS; part of the writer endpoint value (`host:port`). */
export const DB_PORT = 5432

/** Stack config keys (under `<project>:`, set with `--path`) the DR command prints; infra/src/config.ts reads them. */
export const CONFIG_KEYS = {
  /** `primary` (standalone writer) or `replica` (cross-region read replica of another stack). */
  databaseRole: 'database.role',
  /** Fully qualified stack the replica follows (`<org>/<project>/<stack>`), read through a StackReference. */
  sourceStack: 'database.sourceStack',
  /** RDS identifier; a rebuilt instance needs a new one because the old one is retained, not deleted. */
  databaseIdentifier: 'database.identifier',
  /** Same-region readers; a replica-role region has none (config validation refuses them). */
  readReplicas: 'database.readReplicas',
} as const

/** Readiness endpoint: the ALB target group and the Route 53 health checks call it. */
export const HEALTH_READY_PATH = '/health/ready'

/** Path prefix every API route of the service lives under (the ALB forwards only these and health). */
export const API_PATH_PREFIX = '/v1'

/** Environment variables the Pulumi program sets on the service and migration containers. */
export const ENV = {
  databaseUrl: 'DATABASE_URL',
  databaseReplicaUrl: 'DATABASE_REPLICA_URL',
  /** `ssm:<parameter>` or `file:<path>` holding the writer's `host:port` (see ssmParameters.writerEndpoint). */
  writerEndpointSource: 'DATABASE_WRITER_ENDPOINT_SOURCE',
  /** `true`: connect with RDS IAM tokens for DATABASE_URL's user (no password anywhere). */
  databaseIamAuth: 'DATABASE_IAM_AUTH',
  /** `rediss://<user>@<configuration endpoint>:6379`: with REDIS_IAM_AUTH it names the user and holds no password. */
  redisUrl: 'REDIS_URL',
  redisCluster: 'REDIS_CLUSTER',
  /** `true`: AUTH as REDIS_URL's user with ElastiCache IAM tokens (no Redis password anywhere). */
  redisIamAuth: 'REDIS_IAM_AUTH',
  /** Replication group the IAM tokens are signed for. */
  redisIamReplicationGroupId: 'REDIS_IAM_REPLICATION_GROUP_ID',
  /** Region of that replication group (tokens are signed for it). */
  redisIamRegion: 'REDIS_IAM_REGION',
  s3Bucket: 'S3_BUCKET',
  s3Region: 'S3_REGION',
  /** HMAC key of the payment provider's funding webhook; the operator sets its Secrets Manager value. */
  fundingWebhookSecret: 'FUNDING_WEBHOOK_SECRET',
  /** AES-256-GCM key of the TOTP seeds at rest (32 bytes base64); the operator sets its Secrets Manager value. */
  mfaEncryptionKey: 'MFA_ENCRYPTION_KEY',
  /** `true`: production may store TOTP seeds unsealed (set by infra until the operator provides the key). */
  mfaEncryptionOptional: 'MFA_ENCRYPTION_OPTIONAL',
  /** Password hashes run at once; infra sets it from the task's vCPUs (`hashConcurrencyFor`). */
  passwordHashConcurrency: 'PASSWORD_HASH_CONCURRENCY',
  /** libuv's thread pool, read by libuv itself at its first use; infra sets it (`threadPoolSizeFor`). */
  uvThreadPoolSize: 'UV_THREADPOOL_SIZE',
} as const

/** libuv's thread pool when UV_THREADPOOL_SIZE is unset, and what the service keeps beside hashing. */
export const LIBUV_DEFAULT_THREADS = 4

/**
 * Password hashes an instance with `cores` CPUs runs at once: half of them, at least one. Each hash
 * holds a core for its whole duration; with one per core a sign-in storm took every core and the
 * other routes' p95 went past 200 ms, with half the other half is always theirs. The container
 * sees the host's CPUs, not its task's share, so infra passes the task's vCPUs explicitly.
 */
export function hashConcurrencyFor(cores: number): number {
  return Math.max(1, Math.floor(cores / 2))
}

/**
 * libuv threads for `hashConcurrency` hashes at once: argon2 and scrypt each hold one of them for
 * the whole hash, and DNS lookups (every new database, Redis or AWS connection), file reads and
 * zlib share the same pool. A login storm with the hashes holding every thread would stall those
 * behind 40 ms hashes, so libuv's default four stay free beside them.
 */
export function threadPoolSizeFor(hashConcurrency: number): number {
  return hashConcurrency + LIBUV_DEFAULT_THREADS
}

/**
 * ACL of the service's ElastiCache user (infra/src/cache.ts sets it; app/test/redis-acl.test.ts runs the service
 * under it): every key (the service sets no key prefix there), only its channels (`notify:<user>`,
 * features/notifications/hub.ts, and `sessions:changed`, features/auth/session-changes.ts), the command groups its commands and Lua scripts use without the admin and
 * dangerous ones, plus INFO (ioredis' ready check) and CLUSTER SLOTS / CLUSTER INFO (slot discovery; not the
 * whole command, whose RESET, FAILOVER and FORGET ElastiCache does not restrict).
 */
export const REDIS_SERVICE_ACCESS_STRING =
  'on ~* &notify:* &sessions:changed -@all +@read +@write +@keyspace +@string +@hash +@set +@sortedset +@scripting +@pubsub ' +
  '+@transaction +@connection +time -@admin -@dangerous +info +cluster|slots +cluster|info'

/** SSM parameters per stack. Values are plain strings; each parameter's doc says who writes it. */
export const ssmParameters = {
  /** `host:port` of the current PostgreSQL writer; Pulumi seeds it, `npm run dr -- promote` rewrites it. */
  writerEndpoint: (project: string, stack: string) => `/${project}/${stack}/db/writer-endpoint`,
  /** Image URI the region runs; the deploy workflow writes it, `pulumi up` and the drift job read it. */
  serviceImage: (project: string, stack: string) => `/${project}/${stack}/service/image`,
} as const

/**
 * The master user's password, for the role bootstrap (app/src/db/bootstrap-cli.ts) only: the deploy job has ECS
 * inject it from the RDS-managed secret into the bootstrap task (docs/delivery.md). Not in ENV: the service never
 * reads it, and no task definition of the program sets it.
 */
export const BOOTSTRAP_MASTER_PASSWORD_ENV = 'DATABASE_MASTER_PASSWORD'

/** PostgreSQL role the service connects as (created by prisma/migrations/*_app_role; IAM-authenticated on RDS). */
export const DB_APP_ROLE = 'blueprint_app'
/**
 * PostgreSQL role migrations run as: it owns the schema and every object in it (app/src/db/bootstrap.ts creates
 * it and hands it ownership); IAM-authenticated on RDS, in every region, also after a promotion.
 */
export const DB_MIGRATOR_ROLE = 'blueprint_migrator'
/** RDS master user of a born primary: the bootstrap and break-glass access only, never the service. */
export const DB_MASTER_USER = 'blueprint'
/** The application database on every instance. */
export const DB_NAME = 'blueprint'

/**
 * Pulumi URNs of the regional resources the DR command refreshes by `--target` (infra/dr/pulumi-steps.ts) and the
 * deploy refreshes (the image parameter). `infra/test/dr-path.test.ts` checks each names a resource of the stack.
 */
export const stackUrns = {
  /** The region's RDS instance (a child of the Database component; its name does not follow the identifier). */
  database: (project: string, stack: string) =>
    `urn:pulumi:${stack}::${project}::blueprint:database:Database$aws:rds/instance:Instance::${project}-${stack}-db`,
  /** The writer-endpoint parameter (ssmParameters.writerEndpoint). */
  writerParameter: (project: string, stack: string) =>
    `urn:pulumi:${stack}::${project}::aws:ssm/parameter:Parameter::${project}-${stack}-db-writer-endpoint`,
  /** The deployed-image parameter (ssmParameters.serviceImage). */
  serviceImage: (project: string, stack: string) =>
    `urn:pulumi:${stack}::${project}::aws:ssm/parameter:Parameter::${project}-${stack}-service-image`,
} as const
