// Helpers shared by the rules: type filters, reference matching and tag reading that work the same
// under the Pulumi engine (preview/up with --policy-pack) and in-process over an offline inventory.
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  StackValidation,
  StackValidationArgs,
} from '@pulumi/policy'

/** Pulumi type tokens the rules look at (@pulumi/aws v7). */
export const T = {
  bucket: 'aws:s3/bucket:Bucket',
  bucketV2: 'aws:s3/bucketV2:BucketV2',
  bucketSse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  bucketSseV2: 'aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2',
  bucketPab: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  rdsInstance: 'aws:rds/instance:Instance',
  rdsCluster: 'aws:rds/cluster:Cluster',
  rdsParameterGroup: 'aws:rds/parameterGroup:ParameterGroup',
  rdsClusterParameterGroup: 'aws:rds/clusterParameterGroup:ClusterParameterGroup',
  redisGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  redisCluster: 'aws:elasticache/cluster:Cluster',
  ebsVolume: 'aws:ebs/volume:Volume',
  ec2Instance: 'aws:ec2/instance:Instance',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  defaultSecurityGroup: 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup',
  securityGroupRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  loadBalancer: 'aws:lb/loadBalancer:LoadBalancer',
  albLoadBalancer: 'aws:alb/loadBalancer:LoadBalancer',
  listener: 'aws:lb/listener:Listener',
  albListener: 'aws:alb/listener:Listener',
  webAclAssociation: 'aws:wafv2/webAclAssociation:WebAclAssociation',
  distribution: 'aws:cloudfront/distribution:Distribution',
  ecsService: 'aws:ecs/service:Service',
  awsxFargateService: 'awsx:ecs:FargateService',
  awsxEc2Service: 'awsx:ecs:EC2Service',
} as const

/** A resource validation that runs only for the given type tokens. */
export function ofType<P = Record<string, unknown>>(
  types: readonly string[],
  validate: (props: P, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
  return (args, report) => {
    if (types.includes(args.type)) validate(args.props as P, args, report)
  }
}

/** A stack validation over the resources of the given types (with the whole stack at hand). */
export function eachOfType(
  types: readonly string[],
  validate: (r: PolicyResource, args: StackValidationArgs, report: ReportViolation) => void,
): StackValidation {
  return (args, report) => {
    for (const r of args.resources) if (types.includes(r.type)) validate(r, args, report)
  }
}

/** Every string inside a value (arrays and objects walked), for matching references by value. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(strings)
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings)
  return []
}

function identities(r: PolicyResource): Set<string> {
  const p = r.props ?? {}
  return new Set(strings([p.id, p.arn, p.bucket, p.name]).filter((s) => s.length > 0))
}

/**
 * True when property `prop` of `from` points at `to`. The engine passes property dependencies (URNs),
 * which settle it even while ids are unknown in a preview; an offline inventory has only values, so
 * those are compared with the target's id, ARN and physical name.
 */
export function refersTo(from: PolicyResource, prop: string, to: PolicyResource): boolean {
  const deps = from.propertyDependencies?.[prop]
  if (deps && deps.length > 0) return deps.some((d) => d.urn === to.urn)
  const ids = identities(to)
  return strings(from.props?.[prop]).some((s) => ids.has(s))
}

/** True when `companion` configures `bucket`: by its `bucket` property or as the bucket's child. */
export function configuresBucket(companion: PolicyResource, bucket: PolicyResource): boolean {
  return refersTo(companion, 'bucket', bucket) || companion.parent?.urn === bucket.urn
}

/** Boolean inputs sometimes arrive as strings (launch templates, provider config): accept both. */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true'
}

/** A plain object from a value that may be a JSON string (provider inputs are JSON-encoded). */
export function objectOf(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'string') {
    try {
      return objectOf(JSON.parse(value))
    } catch {
      return undefined
    }
  }
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}
