/**
 * Names the service, the Pulumi program (infra/src) and the DR command (infra/dr) must agree on. The
 * service compiles this file into its image; infra imports it by relative path. It imports nothing, so
 * either side can load it without the other's dependencies. Change a name here and all three follow.
 */

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
  /**
   * The master user's password, for the role bootstrap only: ECS injects it from the RDS-managed secret into
   * the bootstrap task the deploy job starts (docs/delivery.md); no other task or service ever has it.
   */
  databaseMasterPassword: 'DATABASE_MASTER_PASSWORD',
  redisUrl: 'REDIS_URL',
  redisCluster: 'REDIS_CLUSTER',
  s3Bucket: 'S3_BUCKET',
  s3Region: 'S3_REGION',
} as const

/** SSM parameters per stack. Values are plain strings; each parameter's doc says who writes it. */
export const ssmParameters = {
  /** `host:port` of the current PostgreSQL writer; Pulumi seeds it, `npm run dr -- promote` rewrites it. */
  writerEndpoint: (project: string, stack: string) => `/${project}/${stack}/db/writer-endpoint`,
  /** Image URI the region runs; the deploy workflow writes it, `pulumi up` and the drift job read it. */
  serviceImage: (project: string, stack: string) => `/${project}/${stack}/service/image`,
} as const

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
