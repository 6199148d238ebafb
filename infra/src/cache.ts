import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { REDIS_SERVICE_ACCESS_STRING } from '../../app/src/contract.js'

export interface CacheArgs {
  /** Replication group id (40 characters at most). */
  replicationGroupId: string
  /** @default cache.r7g.xlarge (26.32 GiB). Cost: billed per node; shards x (1 + replicas) nodes. */
  nodeType: string
  /** @default 7.1 */
  engineVersion: string
  /** Cluster-mode shards. @default 3 */
  shards: number
  /** Replicas per shard; at least one for automatic failover. @default 2 */
  replicasPerShard: number
  /** Daily snapshots kept. @default 7 */
  snapshotRetentionDays: number
  vpcId: pulumi.Input<string>
  /** Isolated subnets. */
  subnetIds: pulumi.Input<string>[]
  /** The only security group allowed to reach 6379. */
  clientSecurityGroupId: pulumi.Input<string>
  kmsKeyArn: pulumi.Input<string>
  /** Protect the replication group from deletion and replacement. @default true */
  protect?: boolean
}

/**
 * ElastiCache Redis in cluster mode: sharded, replicated across AZs, encrypted, with RBAC and IAM authentication.
 * The service AUTHs as its own IAM-enabled user with short-lived tokens its task role signs (no password exists,
 * so none is in Pulumi state); the group's required `default` user is switched off.
 */
export class Cache extends pulumi.ComponentResource {
  readonly configurationEndpoint: pulumi.Output<string>
  readonly replicationGroupId: string
  readonly replicationGroupArn: pulumi.Output<string>
  /** The service's ElastiCache user: IAM tokens are signed for this id (for IAM users it is also the user name). */
  readonly serviceUserId: string
  readonly serviceUserArn: pulumi.Output<string>
  /** Member cluster ids (`<group>-000<shard>-00<node>`), used for per-node alarms. */
  readonly memberClusterIds: string[]

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:cache:Cache', name, {}, opts)
    const parent = { parent: this }
    if (args.replicationGroupId.length > 40)
      throw new Error(`${args.replicationGroupId}: 40 characters at most`)
    // ElastiCache stores both ids lowercase, and an IAM token is only valid for the lowercase names.
    this.replicationGroupId = elastiCacheId(args.replicationGroupId, 'replication group id')
    this.serviceUserId = elastiCacheId(`${args.replicationGroupId}-service`, 'user id')

    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-redis-subnets`,
      { name: `${args.replicationGroupId}-subnets`, subnetIds: args.subnetIds },
      parent,
    )
    const sg = new aws.ec2.SecurityGroup(
      `${name}-redis-sg`,
      {
        vpcId: args.vpcId,
        description: 'Redis: only from the service tasks',
        ingress: [
          {
            protocol: 'tcp',
            fromPort: 6379,
            toPort: 6379,
            securityGroups: [args.clientSecurityGroupId],
            description: 'service tasks',
          },
        ],
        tags: { Name: `${name}-redis` },
      },
      parent,
    )
    const users = createUsers(name, this.serviceUserId, args.replicationGroupId, parent)
    const userGroup = new aws.elasticache.UserGroup(
      `${name}-redis-users`,
      {
        userGroupId: `${args.replicationGroupId}-users`,
        engine: 'redis',
        userIds: [users.disabledDefault.userId, users.service.userId],
      },
      parent,
    )
    this.serviceUserArn = users.service.arn

    const group = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        replicationGroupId: args.replicationGroupId,
        description: `${args.replicationGroupId}: sessions, rate limits, cache`,
        engine: 'redis',
        engineVersion: args.engineVersion,
        nodeType: args.nodeType,
        port: 6379,
        clusterMode: 'enabled',
        parameterGroupName: `default.redis${args.engineVersion.split('.')[0]}.cluster.on`,
        numNodeGroups: args.shards,
        replicasPerNodeGroup: args.replicasPerShard,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        atRestEncryptionEnabled: true,
        kmsKeyId: args.kmsKeyArn,
        // IAM authentication requires TLS.
        transitEncryptionEnabled: true,
        // RBAC instead of the old AUTH token. On a group that had one, the provider sends one
        // ModifyReplicationGroup with UserGroupIdsToAdd and AuthTokenUpdateStrategy=DELETE: an in-place update
        // (neither field forces a replacement). docs/infrastructure.md has the migration.
        userGroupIds: [userGroup.userGroupId],
        authTokenUpdateStrategy: 'DELETE',
        subnetGroupName: subnets.name,
        securityGroupIds: [sg.id],
        snapshotRetentionLimit: args.snapshotRetentionDays,
        snapshotWindow: '02:00-03:00',
        maintenanceWindow: 'sun:05:30-sun:06:30',
        autoMinorVersionUpgrade: true,
        applyImmediately: false,
      },
      { parent: this, protect: args.protect ?? true },
    )
    this.configurationEndpoint = group.configurationEndpointAddress
    this.replicationGroupArn = group.arn
    this.memberClusterIds = []
    for (let shard = 1; shard <= args.shards; shard++) {
      for (let node = 1; node <= args.replicasPerShard + 1; node++) {
        this.memberClusterIds.push(`${args.replicationGroupId}-${pad(shard, 4)}-${pad(node, 3)}`)
      }
    }
    this.registerOutputs({ configurationEndpoint: this.configurationEndpoint })
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/** An ElastiCache user or replication group id: a lowercase letter, then lowercase letters, digits, single hyphens. */
export function elastiCacheId(id: string, what: string): string {
  if (!/^[a-z](?:-?[a-z0-9])*$/.test(id))
    throw new Error(
      `${id}: an ElastiCache ${what} is a lowercase letter, then lowercase letters, digits and single hyphens`,
    )
  return id
}

/**
 * The service's IAM user and the disabled `default` every user group must contain. The default user needs no
 * password (nothing to keep in state) and is `off` with no commands, keys or channels: a connection that does not
 * AUTH as the service can do nothing.
 */
function createUsers(
  name: string,
  serviceUserId: string,
  groupId: string,
  parent: pulumi.CustomResourceOptions,
) {
  const service = new aws.elasticache.User(
    `${name}-redis-service`,
    {
      // IAM users must have the same id and name.
      userId: serviceUserId,
      userName: serviceUserId,
      engine: 'redis',
      accessString: REDIS_SERVICE_ACCESS_STRING,
      authenticationMode: { type: 'iam' },
    },
    parent,
  )
  const disabledDefault = new aws.elasticache.User(
    `${name}-redis-default`,
    {
      // The id `default` is AWS's own open default user; a group's default is any user *named* default.
      userId: `${groupId}-default`,
      userName: 'default',
      engine: 'redis',
      accessString: 'off -@all',
      // The provider's tested way to a user without a password: authentication_mode is Optional+Computed, so
      // whatever ElastiCache reads back (`no-password`) shows no diff. Switched off, it can do nothing anyway.
      noPasswordRequired: true,
    },
    parent,
  )
  return { service, disabledDefault }
}
