import type { Inventory, InventoryResource } from './inventory.js'

// The few inputs that tell a reviewer what a resource is; everything else is in the JSON.
const KEY_PROPS: Record<string, string[]> = {
  'aws:ec2/vpc:Vpc': ['cidrBlock'],
  'aws:ec2/subnet:Subnet': ['availabilityZone', 'cidrBlock'],
  'aws:lb/loadBalancer:LoadBalancer': [
    'internal',
    'idleTimeout',
    'dropInvalidHeaderFields',
    'enableDeletionProtection',
  ],
  'aws:lb/listener:Listener': ['port', 'protocol', 'sslPolicy'],
  'aws:lb/targetGroup:TargetGroup': ['port', 'targetType', 'healthCheck.path'],
  'aws:rds/instance:Instance': [
    'identifier',
    'instanceClass',
    'engineVersion',
    'allocatedStorage',
    'multiAz',
    'replicateSourceDb',
    'backupRetentionPeriod',
  ],
  'aws:elasticache/replicationGroup:ReplicationGroup': ['nodeType', 'numNodeGroups', 'replicasPerNodeGroup'],
  'aws:ecs/taskDefinition:TaskDefinition': ['family', 'cpu', 'memory'],
  'aws:ecs/service:Service': ['name', 'desiredCount'],
  'aws:appautoscaling/target:Target': ['minCapacity', 'maxCapacity'],
  'aws:s3/bucket:Bucket': ['bucket'],
  'aws:cloudwatch/metricAlarm:MetricAlarm': ['metricName', 'comparisonOperator', 'threshold'],
  'aws:cloudwatch/logGroup:LogGroup': ['name', 'retentionInDays'],
  'aws:route53/record:Record': ['name', 'type', 'setIdentifier'],
  'aws:route53/healthCheck:HealthCheck': ['fqdn', 'resourcePath', 'requestInterval'],
  'aws:wafv2/webAcl:WebAcl': ['scope'],
  'aws:kms/key:Key': ['enableKeyRotation'],
  'aws:cloudfront/distribution:Distribution': [
    'aliases',
    'priceClass',
    'viewerCertificate.minimumProtocolVersion',
  ],
  'aws:cloudfront/cachePolicy:CachePolicy': ['defaultTtl'],
  'aws:s3/bucketReplicationConfig:BucketReplicationConfig': ['bucket'],
  'aws:ssm/parameter:Parameter': ['name', 'insecureValue'],
  'pulumi:pulumi:StackReference': ['name'],
}

function get(obj: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      obj,
    )
}

function describe(r: InventoryResource): string {
  const props = (KEY_PROPS[r.type] ?? [])
    .map((p) => [p, get(r.inputs, p)] as const)
    .filter(([, v]) => v !== undefined)
    .map(([p, v]) => `${p}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
  const flags = [r.options?.protect && 'protect', r.options?.retainOnDelete && 'retainOnDelete']
    .filter(Boolean)
    .join(', ')
  return [props.join(' '), flags && `(${flags})`].filter(Boolean).join(' ')
}

/** Short Markdown summary: counts per type, then the key properties of each resource that has some. */
export function inventoryMarkdown(inv: Inventory): string {
  const counts = new Map<string, number>()
  for (const r of inv.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1)
  const lines = [
    `# ${inv.project}/${inv.stack} (${inv.region}): ${inv.resources.length} resources`,
    '',
    'Built offline under Pulumi mocks; ids and ARNs are fake, inputs are what `pulumi up` would send.',
    '',
    '| Type | Count |',
    '| --- | ---: |',
    ...[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `| \`${t}\` | ${n} |`),
    '',
    '## Key properties',
    '',
    '| Type | Name | Properties |',
    '| --- | --- | --- |',
  ]
  for (const r of inv.resources) {
    const d = describe(r)
    if (d) lines.push(`| \`${r.type.split(':').pop()}\` | ${r.name} | ${d.replaceAll('|', '\\|')} |`)
  }
  return `${lines.join('\n')}\n`
}
