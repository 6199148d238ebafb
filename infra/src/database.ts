import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { DB_MASTER_USER, DB_NAME } from '../../app/src/contract.js'
import type { DatabaseRole } from './config.js'

/** Memory in GiB of the instance classes we expect; max_connections is derived from it. */
const CLASS_MEMORY_GIB: Record<string, number> = {
  'db.r6g.large': 16,
  'db.r6g.xlarge': 32,
  'db.r6g.2xlarge': 64,
  'db.r6g.4xlarge': 128,
  'db.r7g.large': 16,
  'db.r7g.xlarge': 32,
  'db.r7g.2xlarge': 64,
  'db.r7g.4xlarge': 128,
  'db.m6g.large': 8,
  'db.m6g.xlarge': 16,
  'db.m6g.2xlarge': 32,
  'db.t4g.medium': 4,
  'db.t4g.large': 8,
}

/**
 * RDS PostgreSQL's default max_connections: LEAST(DBInstanceClassMemory / 9531392, 5000).
 * DBInstanceClassMemory is a little under the nominal memory; the nominal value is close enough for an alarm.
 */
export function defaultMaxConnections(instanceClass: string): number {
  const gib = CLASS_MEMORY_GIB[instanceClass]
  if (gib === undefined) {
    throw new Error(
      `unknown memory for ${instanceClass}; run: pulumi config set blueprint:database.maxConnections <n> --path`,
    )
  }
  return Math.min(Math.floor((gib * 1024 ** 3) / 9531392), 5000)
}

/**
 * RDS's default create timeout is 40 minutes; a cross-region replica of 1 TB takes 1-3 h (snapshot copy and
 * catch-up), and so can a same-region reader or a class change. Past the timeout Pulumi marks the create failed
 * while RDS carries on, and the next `up` tries to create it again.
 */
export const RDS_TIMEOUTS = { create: '4h', update: '4h', delete: '2h' }

export interface DatabaseArgs {
  /** RDS identifier; never changes for the life of the instance (a change replaces it). */
  identifier: string
  /** `primary` creates the writer; `replica` a cross-region read replica of `sourceDbArn`. @default primary */
  role: DatabaseRole
  /** True when the instance was created as a replica (it then has no master username of its own to set). */
  bornReplica: boolean
  /** ARN of the writer this instance replicates; required for the replica role. */
  sourceDbArn?: pulumi.Input<string>
  /** @default db.r6g.2xlarge */
  instanceClass: string
  /** PostgreSQL major version. @default 17 */
  engineVersion: string
  /** Initial gp3 storage in GiB. Cost: gp3 is billed per provisioned GiB-month. @default 1000 */
  allocatedStorageGb: number
  /** Storage autoscaling ceiling in GiB. @default 2000 */
  maxAllocatedStorageGb: number
  /** Backup retention in days; point-in-time recovery covers the same window. @default 7 */
  backupRetentionDays: number
  /** Same-region read replicas. Cost: each is a full instance. @default 0 */
  readReplicas: number
  vpcId: pulumi.Input<string>
  /** Isolated subnets (no route to the internet). */
  subnetIds: pulumi.Input<string>[]
  /** The only security group allowed to reach 5432 from inside this VPC. */
  clientSecurityGroupId: pulumi.Input<string>
  /**
   * The other region's task subnets: its tasks write here after a promotion (or while this is the primary).
   * Security groups cannot reference a group across a cross-region peering, so these are CIDRs. @default none
   */
  peerClientCidrs?: string[]
  /** This region's KMS key; a cross-region replica must use a key in its own region. */
  kmsKeyArn: pulumi.Input<string>
  /** Log retention for the exported PostgreSQL logs. @default 30 */
  logRetentionDays?: number
  /** Protect the instance from deletion and replacement. @default true */
  protect?: boolean
}

/** Multi-AZ, encrypted RDS PostgreSQL: writer or cross-region replica, plus optional same-region read replicas. */
export class Database extends pulumi.ComponentResource {
  readonly identifier: string
  readonly arn: pulumi.Output<string>
  readonly endpoint: pulumi.Output<string>
  readonly address: pulumi.Output<string>
  readonly readReplicaIdentifiers: string[]
  readonly readerEndpoint: pulumi.Output<string>
  readonly securityGroupId: pulumi.Output<string>

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:database:Database', name, {}, opts)
    const parent = { parent: this }
    if (args.role === 'replica' && !args.sourceDbArn) {
      throw new Error(
        `${name}: replica role needs the source DB ARN; run: pulumi config set blueprint:database.sourceStack <org>/blueprint/us-east --path`,
      )
    }
    const major = args.engineVersion.split('.')[0]
    this.identifier = args.identifier

    // Groups are named for the instance. A failback rebuild gives the instance a new identifier, so new groups
    // are created; the old ones stay in AWS (retainOnDelete) because the retained old instance still uses them,
    // and RDS refuses to delete a group in use. The failback plan deletes them with the old instance.
    const retained = { parent: this, retainOnDelete: true }
    const subnets = new aws.rds.SubnetGroup(
      `${name}-db-subnets`,
      { name: `${args.identifier}-subnets`, subnetIds: args.subnetIds },
      retained,
    )
    const sg = new aws.ec2.SecurityGroup(
      `${name}-db-sg`,
      {
        vpcId: args.vpcId,
        description: 'PostgreSQL: only from the service tasks',
        ingress: [
          {
            protocol: 'tcp',
            fromPort: 5432,
            toPort: 5432,
            securityGroups: [args.clientSecurityGroupId],
            description: 'service tasks',
          },
          ...(args.peerClientCidrs?.length
            ? [
                {
                  protocol: 'tcp',
                  fromPort: 5432,
                  toPort: 5432,
                  cidrBlocks: args.peerClientCidrs,
                  description:
                    'service tasks of the other region, over the peering (TLS enforced by rds.force_ssl)',
                },
              ]
            : []),
        ],
        tags: { Name: `${name}-db` },
      },
      parent,
    )
    this.securityGroupId = sg.id
    const params = new aws.rds.ParameterGroup(
      `${name}-db-params`,
      {
        name: `${args.identifier}-pg${major}`,
        family: `postgres${major}`,
        description: `${args.identifier}: TLS required`,
        parameters: [
          { name: 'rds.force_ssl', value: '1' },
          { name: 'log_min_duration_statement', value: '1000' },
        ],
      },
      retained,
    )
    const monitoringRole = new aws.iam.Role(
      `${name}-db-monitoring`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'monitoring.rds.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
        managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole'],
      },
      parent,
    )
    // RDS creates these groups on first export with no retention; creating them first sets one.
    const logGroupsFor = (resName: string, identifier: string) =>
      ['postgresql', 'upgrade'].map(
        (log) =>
          new aws.cloudwatch.LogGroup(
            `${resName}-${log}`,
            {
              name: `/aws/rds/instance/${identifier}/${log}`,
              retentionInDays: args.logRetentionDays ?? 30,
              kmsKeyId: args.kmsKeyArn,
            },
            parent,
          ),
      )
    const logGroups = logGroupsFor(`${name}-db`, args.identifier)

    const common = {
      identifier: args.identifier,
      instanceClass: args.instanceClass,
      storageType: 'gp3',
      storageEncrypted: true,
      kmsKeyId: args.kmsKeyArn,
      maxAllocatedStorage: args.maxAllocatedStorageGb,
      multiAz: true,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [sg.id],
      parameterGroupName: params.name,
      publiclyAccessible: false,
      backupRetentionPeriod: args.backupRetentionDays,
      backupWindow: '03:00-04:00',
      maintenanceWindow: 'sun:04:30-sun:05:30',
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${args.identifier}-final`,
      copyTagsToSnapshot: true,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: args.kmsKeyArn,
      performanceInsightsRetentionPeriod: 7,
      monitoringInterval: 60,
      monitoringRoleArn: monitoringRole.arn,
      enabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
      autoMinorVersionUpgrade: true,
      applyImmediately: false,
      // The service connects as DB_APP_ROLE and migrations as DB_MIGRATOR_ROLE, both with IAM tokens (signed
      // locally, so no password and no cross-region Secrets Manager call on the DR path). The master user is for
      // the one-time bootstrap of those roles and for break-glass access only.
      iamDatabaseAuthenticationEnabled: true,
    } satisfies aws.rds.InstanceArgs

    const roleArgs: aws.rds.InstanceArgs =
      args.role === 'replica'
        ? // Engine, version, storage size and credentials come from the source.
          { ...common, replicateSourceDb: args.sourceDbArn }
        : {
            ...common,
            engine: 'postgres',
            engineVersion: args.engineVersion,
            allocatedStorage: args.allocatedStorageGb,
            // A promoted replica keeps the master user and password it inherited; only a born primary sets them.
            // RDS generates the born primary's password into a Secrets Manager secret of its own (encrypted with
            // this region's key): no password passes through Pulumi, its state or its outputs.
            ...(args.bornReplica
              ? {}
              : {
                  username: DB_MASTER_USER,
                  dbName: DB_NAME,
                  manageMasterUserPassword: true,
                  masterUserSecretKmsKeyId: args.kmsKeyArn,
                }),
          }
    const instance = new aws.rds.Instance(`${name}-db`, roleArgs, {
      parent: this,
      protect: args.protect ?? true,
      retainOnDelete: true,
      customTimeouts: RDS_TIMEOUTS,
      dependsOn: logGroups,
      // Storage autoscaling grows allocatedStorage outside Pulumi; the engine minor version moves with AWS.
      // Master-password management is the operator's after creation: RDS refuses to create a read replica of a
      // source whose password it manages, so it is released once the roles are bootstrapped and switched on only
      // for break-glass access (docs/runbooks/database-credentials.md). A later `up` must not switch it back.
      ignoreChanges: [
        'allocatedStorage',
        'engineVersion',
        'manageMasterUserPassword',
        'masterUserSecretKmsKeyId',
      ],
    })
    this.arn = instance.arn
    this.endpoint = instance.endpoint
    this.address = instance.address

    this.readReplicaIdentifiers = []
    const replicas: aws.rds.Instance[] = []
    for (let i = 1; i <= args.readReplicas; i++) {
      const id = `${args.identifier}-read-${i}`
      this.readReplicaIdentifiers.push(id)
      replicas.push(
        new aws.rds.Instance(
          `${name}-db-read-${i}`,
          {
            ...common,
            identifier: id,
            replicateSourceDb: instance.identifier,
            // Read scaling only: the writer is Multi-AZ; a lost reader is replaced, not failed over.
            multiAz: false,
            backupRetentionPeriod: 0,
            skipFinalSnapshot: true,
            finalSnapshotIdentifier: undefined,
            dbSubnetGroupName: undefined,
            // Rebuilt from the writer at will: deletion protection would only block the failback plan, which
            // removes same-region readers before the region becomes a replica (a replica has none).
            deletionProtection: false,
          },
          {
            parent: this,
            customTimeouts: RDS_TIMEOUTS,
            ignoreChanges: ['engineVersion'],
            dependsOn: logGroupsFor(`${name}-db-read-${i}`, id),
          },
        ),
      )
    }
    this.readerEndpoint = replicas[0]?.endpoint ?? instance.endpoint

    this.registerOutputs({ endpoint: this.endpoint, arn: this.arn })
  }
}
