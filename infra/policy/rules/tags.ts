// Required tags for cost allocation and ownership. A resource's effective tags are its own `tags`
// merged over its provider's `defaultTags` (what AWS applies), so a stack may tag through either.
// Resources that declare no `tags` are checked only when their type is one we know is taggable and
// worth allocating cost to; other types (policies, attachments, rules) often cannot carry tags.
import type { ResourceValidationPolicy } from '@pulumi/policy'
import { objectOf } from '../resources.js'

/** Tag keys every taggable resource carries (policy config `requiredTags` overrides). */
export const REQUIRED_TAGS = ['project', 'stack', 'region', 'owner', 'cost-center']

/** Taggable types that must be tagged even when their inputs name no `tags` at all. */
export const MUST_TAG = new Set([
  'aws:ec2/vpc:Vpc',
  'aws:ec2/subnet:Subnet',
  'aws:ec2/natGateway:NatGateway',
  'aws:ec2/eip:Eip',
  'aws:ec2/securityGroup:SecurityGroup',
  'aws:ec2/vpcEndpoint:VpcEndpoint',
  'aws:lb/loadBalancer:LoadBalancer',
  'aws:lb/targetGroup:TargetGroup',
  'aws:ecs/cluster:Cluster',
  'aws:ecs/service:Service',
  'aws:ecs/taskDefinition:TaskDefinition',
  'aws:rds/instance:Instance',
  'aws:rds/cluster:Cluster',
  'aws:elasticache/replicationGroup:ReplicationGroup',
  'aws:s3/bucket:Bucket',
  'aws:kms/key:Key',
  'aws:cloudwatch/logGroup:LogGroup',
  'aws:sns/topic:Topic',
  'aws:wafv2/webAcl:WebAcl',
  'aws:acm/certificate:Certificate',
  'aws:secretsmanager/secret:Secret',
  'aws:cloudfront/distribution:Distribution',
  'aws:iam/role:Role',
])

/** Effective tags: provider default tags overlaid with the resource's own. */
export function effectiveTags(props: Record<string, unknown>, providerProps?: Record<string, unknown>) {
  const defaults = objectOf(objectOf(providerProps?.defaultTags)?.tags) ?? {}
  return { ...defaults, ...(objectOf(props.tags) ?? {}) } as Record<string, unknown>
}

/** Taggable AWS resources carry the required tags, directly or through provider default tags. */
export const requiredTags: ResourceValidationPolicy = {
  name: 'required-tags',
  description: `Taggable AWS resources carry the tags ${REQUIRED_TAGS.join(', ')}.`,
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: { requiredTags: { type: 'array', items: { type: 'string' }, default: REQUIRED_TAGS } },
  },
  validateResource: (args, report) => {
    if (!args.type.startsWith('aws:') || args.type.startsWith('pulumi:providers:')) return
    if (args.props.tags === undefined && !MUST_TAG.has(args.type)) return
    const required = args.getConfig<{ requiredTags?: string[] }>().requiredTags ?? REQUIRED_TAGS
    const tags = effectiveTags(args.props, args.provider?.props)
    const missing = required.filter((k) => typeof tags[k] !== 'string' || tags[k] === '')
    if (missing.length) report(`${args.name}: missing tags ${missing.join(', ')}`)
  },
}
