import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import * as random from '@pulumi/random'

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

/** ElastiCache Redis in cluster mode: sharded, replicated across AZs, encrypted, AUTH token in Secrets Manager. */
export class Cache extends pulumi.ComponentResource {
  readonly configurationEndpoint: pulumi.Output<string>
  readonly authTokenSecretArn: pulumi.Output<string>
  /** Secret holding REDIS_URL (`rediss://:<token>@<configuration endpoint>:6379`). */
  readonly urlSecretArn: pulumi.Output<string>
  readonly replicationGroupId: string
  /** Member cluster ids (`<group>-000<shard>-00<node>`), used for per-node alarms. */
  readonly memberClusterIds: string[]

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:cache:Cache', name, {}, opts)
    const parent = { parent: this }
    if (args.replicationGroupId.length > 40)
      throw new Error(`${args.replicationGroupId}: 40 characters at most`)
    this.replicationGroupId = args.replicationGroupId

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
    // AUTH tokens allow printable ASCII except / " @ and spaces.
    const token = new random.RandomPassword(`${name}-redis-auth`, { length: 64, special: false }, parent)
    const secret = new aws.secretsmanager.Secret(
      `${name}-redis-auth`,
      { name: `${args.replicationGroupId}/auth-token`, kmsKeyId: args.kmsKeyArn, recoveryWindowInDays: 7 },
      parent,
    )
    new aws.secretsmanager.SecretVersion(
      `${name}-redis-auth`,
      { secretId: secret.id, secretString: token.result },
      parent,
    )
    this.authTokenSecretArn = secret.arn

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
        transitEncryptionEnabled: true,
        authToken: token.result,
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
    const urlSecret = new aws.secretsmanager.Secret(
      `${name}-redis-url`,
      { name: `${args.replicationGroupId}/url`, kmsKeyId: args.kmsKeyArn, recoveryWindowInDays: 7 },
      parent,
    )
    new aws.secretsmanager.SecretVersion(
      `${name}-redis-url`,
      {
        secretId: urlSecret.id,
        secretString: pulumi.secret(
          pulumi.interpolate`rediss://:${token.result}@${group.configurationEndpointAddress}:6379`,
        ),
      },
      parent,
    )
    this.urlSecretArn = urlSecret.arn
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
