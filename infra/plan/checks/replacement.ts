// Replacements between two runs of the program: which resources `pulumi up` would replace or delete, and
// which of those fail or lose data. The inputs that force a replacement are the provider's ForceNew schema
// attributes (terraform-provider-aws, for the types this program uses); a fixed physical name cannot be
// replaced create-before-delete (the provider's create fails with "already exists") unless the resource sets
// deleteBeforeReplace; a protected resource cannot be replaced or deleted at all.
import type { Inventory, InventoryResource } from '../inventory.js'

/** Inputs whose change makes the provider replace the resource (ForceNew), per type. */
export const FORCE_NEW: Record<string, string[]> = {
  'aws:rds/instance:Instance': [
    'identifier',
    'identifierPrefix',
    'availabilityZone',
    'dbName',
    'kmsKeyId',
    'storageEncrypted',
    'username',
    'snapshotIdentifier',
    'characterSetName',
    'timezone',
  ],
  'aws:rds/subnetGroup:SubnetGroup': ['name', 'namePrefix'],
  'aws:rds/parameterGroup:ParameterGroup': ['name', 'namePrefix', 'family'],
  'aws:elasticache/replicationGroup:ReplicationGroup': [
    'replicationGroupId',
    'atRestEncryptionEnabled',
    'kmsKeyId',
    'subnetGroupName',
    'port',
    'preferredCacheClusterAzs',
    'snapshotName',
    'snapshotArns',
  ],
  'aws:elasticache/subnetGroup:SubnetGroup': ['name'],
  // authenticationMode and accessString change in place (ModifyUser); userIds of a group too.
  'aws:elasticache/user:User': ['userId', 'userName'],
  'aws:elasticache/userGroup:UserGroup': ['userGroupId', 'engine'],
  'aws:s3/bucket:Bucket': ['bucket', 'bucketPrefix', 'objectLockEnabled'],
  'aws:kms/key:Key': ['customerMasterKeySpec', 'keyUsage', 'multiRegion'],
  'aws:kms/alias:Alias': ['name', 'namePrefix'],
  'aws:secretsmanager/secret:Secret': ['name', 'namePrefix'],
  'aws:ssm/parameter:Parameter': ['name'],
  'aws:ec2/vpc:Vpc': ['cidrBlock'],
  'aws:ec2/subnet:Subnet': ['vpcId', 'cidrBlock', 'availabilityZone'],
  'aws:ec2/securityGroup:SecurityGroup': ['name', 'namePrefix', 'vpcId', 'description'],
  'aws:ec2/vpcPeeringConnection:VpcPeeringConnection': ['vpcId', 'peerVpcId', 'peerRegion', 'peerOwnerId'],
  'aws:lb/loadBalancer:LoadBalancer': ['name', 'namePrefix', 'internal', 'loadBalancerType'],
  'aws:lb/targetGroup:TargetGroup': ['name', 'namePrefix', 'port', 'protocol', 'vpcId', 'targetType'],
  'aws:ecs/cluster:Cluster': ['name'],
  'aws:ecs/service:Service': ['name', 'cluster', 'launchType'],
  'aws:cloudwatch/logGroup:LogGroup': ['name', 'namePrefix'],
  'aws:sns/topic:Topic': ['name', 'namePrefix'],
  'aws:iam/role:Role': ['name', 'namePrefix'],
  'aws:acm/certificate:Certificate': ['domainName', 'subjectAlternativeNames', 'validationMethod'],
}

/** The input that holds a resource's physical name when set explicitly (Pulumi auto-names it otherwise). */
export const NAME_INPUT: Record<string, string> = {
  'aws:rds/instance:Instance': 'identifier',
  'aws:rds/subnetGroup:SubnetGroup': 'name',
  'aws:rds/parameterGroup:ParameterGroup': 'name',
  'aws:elasticache/replicationGroup:ReplicationGroup': 'replicationGroupId',
  'aws:elasticache/subnetGroup:SubnetGroup': 'name',
  'aws:elasticache/user:User': 'userId',
  'aws:elasticache/userGroup:UserGroup': 'userGroupId',
  'aws:s3/bucket:Bucket': 'bucket',
  'aws:kms/alias:Alias': 'name',
  'aws:secretsmanager/secret:Secret': 'name',
  'aws:ssm/parameter:Parameter': 'name',
  'aws:ec2/securityGroup:SecurityGroup': 'name',
  'aws:lb/loadBalancer:LoadBalancer': 'name',
  'aws:lb/targetGroup:TargetGroup': 'name',
  'aws:ecs/cluster:Cluster': 'name',
  'aws:ecs/service:Service': 'name',
  'aws:cloudwatch/logGroup:LogGroup': 'name',
  'aws:sns/topic:Topic': 'name',
  'aws:iam/role:Role': 'name',
}

/**
 * Types whose replacement loses data (or the keys to it). Secrets are not: the program writes their values.
 * A read replica is not either (it holds a copy), unless protected.
 */
export const STATEFUL = new Set([
  'aws:rds/instance:Instance',
  'aws:elasticache/replicationGroup:ReplicationGroup',
  'aws:s3/bucket:Bucket',
  'aws:kms/key:Key',
])

function stateful(r: InventoryResource): boolean {
  if (r.type === 'aws:rds/instance:Instance' && typeof r.inputs.replicateSourceDb === 'string') return false
  return STATEFUL.has(r.type)
}

/** One change `pulumi up` would make, and why it fails or loses state (`error`). */
export interface Change {
  action: 'replace' | 'delete' | 'create'
  type: string
  name: string
  urn: string
  /** Replacement-forcing inputs that changed, `before -> after`. */
  inputs: string[]
  error?: string
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
const unknown = (v: unknown) => v === '[unknown]'

/** Changes from `before` to `after` (two runs of one stack), with an error for each that fails or loses state. */
export function replacements(before: Inventory, after: Inventory): Change[] {
  const next = new Map(after.resources.map((r) => [r.urn, r]))
  const prev = new Map(before.resources.map((r) => [r.urn, r]))
  const out: Change[] = []
  for (const b of before.resources) {
    const a = next.get(b.urn)
    if (!a) {
      out.push({
        action: 'delete',
        type: b.type,
        name: b.name,
        urn: b.urn,
        inputs: [],
        ...deleteError(b, after),
      })
      continue
    }
    const forced = (FORCE_NEW[b.type] ?? []).filter(
      (k) => !unknown(a.inputs[k]) && !unknown(b.inputs[k]) && !same(a.inputs[k], b.inputs[k]),
    )
    if (!forced.length) continue
    const change: Change = {
      action: 'replace',
      type: b.type,
      name: b.name,
      urn: b.urn,
      inputs: forced.map((k) => `${k}: ${JSON.stringify(b.inputs[k])} -> ${JSON.stringify(a.inputs[k])}`),
    }
    const error = replaceError(b, a)
    out.push(error ? { ...change, error } : change)
  }
  for (const a of after.resources)
    if (!prev.has(a.urn) && a.custom)
      out.push({ action: 'create', type: a.type, name: a.name, urn: a.urn, inputs: [] })
  return out
}

function replaceError(b: InventoryResource, a: InventoryResource): string | undefined {
  if (b.options?.protect) return 'protected: Pulumi refuses to replace it'
  const key = NAME_INPUT[b.type]
  const name = key ? a.inputs[key] : undefined
  if (name !== undefined && same(name, b.inputs[key as string]) && !a.options?.deleteBeforeReplace)
    return `fixed name ${JSON.stringify(name)}: create-before-delete fails ("already exists"); set deleteBeforeReplace or change the name`
  if (stateful(b)) {
    // Rebuilding a stale database as a replica is safe only when both hold: the old instance stays in AWS
    // (retainOnDelete, for writes the writer never saw) and the new one fills from the writer (a replica).
    const retained = b.options?.retainOnDelete === true
    const refilled = typeof a.inputs.replicateSourceDb === 'string'
    if (retained && refilled) return undefined
    if (retained) return 'stateful: the replacement starts empty (the old one is retained but no longer used)'
    if (refilled)
      return 'stateful: the old instance is deleted with writes its replica never saw (set retainOnDelete)'
    return 'stateful: a replacement starts empty'
  }
  return undefined
}

function deleteError(b: InventoryResource, after: Inventory): { error?: string } {
  const key = NAME_INPUT[b.type]
  const twin =
    key &&
    after.resources.find((r) => r.type === b.type && same(r.inputs[key], b.inputs[key]) && r.urn !== b.urn)
  if (b.options?.protect)
    return {
      error: `protected: its URN changed or it was removed${twin ? ` (now ${twin.urn}; add an alias)` : ''}`,
    }
  if (twin)
    return {
      error: `renamed without an alias: delete + create of ${JSON.stringify(b.inputs[key as string])}`,
    }
  if (stateful(b) && !b.options?.retainOnDelete) return { error: 'stateful: deleting it loses its data' }
  return {}
}

/** Changes that fail or lose state. */
export function harmful(changes: Change[]): Change[] {
  return changes.filter((c) => c.error)
}

/** Go duration (`3h`, `90m`, `1h30m`) in minutes; undefined when unparsable. */
export function minutes(duration: string): number | undefined {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)]
  if (!parts.length) return undefined
  return parts.reduce(
    (sum, [, n, unit]) => sum + Number(n) * (unit === 'h' ? 60 : unit === 's' ? 1 / 60 : 1),
    0,
  )
}

/** terraform-provider-aws's default create timeout of aws_db_instance. */
export const RDS_DEFAULT_CREATE_MINUTES = 40

/**
 * Creating a cross-region read replica copies a snapshot to the other region and catches up: the failback plan
 * estimates 1-3 h per TB. Below that, the provider gives up at its create timeout and the stack is left with a
 * half-built replica. Needs customTimeouts.create of at least 3 h per started TB.
 */
export function replicaTimeoutError(r: InventoryResource, region: string): string | undefined {
  const source = r.inputs.replicateSourceDb
  if (r.type !== 'aws:rds/instance:Instance' || typeof source !== 'string' || !source.startsWith('arn:'))
    return undefined
  if (source.includes(`:${region}:`)) return undefined
  const gb = Number(r.inputs.allocatedStorage ?? 1000)
  const needed = Math.max(1, Math.ceil(gb / 1000)) * 180
  const create = r.options?.customTimeouts?.create
  const given = create ? minutes(create) : RDS_DEFAULT_CREATE_MINUTES
  if (given !== undefined && given >= needed) return undefined
  return `create timeout ${create ?? `${RDS_DEFAULT_CREATE_MINUTES}m (provider default)`} < ${needed / 60}h for a ${gb} GB cross-region replica; set customTimeouts.create`
}
