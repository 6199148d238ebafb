// A small synthetic stack that satisfies every guard rail; each test breaks one thing in a copy.
import type { PackInventory, PackResource } from '../run.js'

const STACK = 'test'
const PROJECT = 'blueprint'
const urn = (type: string, name: string) => `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`
const PROVIDER = urn('pulumi:providers:aws', 'regional')

/** The tags every resource must carry. */
export const TAGS = {
  project: PROJECT,
  stack: STACK,
  region: 'us-east-1',
  owner: 'platform',
  'cost-center': 'cc-42',
}

function res(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<PackResource> = {}) {
  return { type, name, urn: urn(type, name), custom: true, provider: `${PROVIDER}::p-1`, inputs, ...extra }
}

const tlsOnlyPolicy = (bucket: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  })

/** A fresh compliant inventory (a new object each call, so tests may mutate it). */
export function goodInventory(): PackInventory {
  const uploads = res('aws:s3/bucket:Bucket', 'uploads', { bucket: 'bp-test-uploads' })
  const logs = res('aws:s3/bucket:Bucket', 'logs', { bucket: 'bp-test-logs' })
  // Uploads' companions are its children (as infra/src does); logs' companions name it by value only.
  const child = { parent: uploads.urn }
  const resources: PackResource[] = [
    {
      type: 'pulumi:providers:aws',
      name: 'regional',
      urn: PROVIDER,
      custom: true,
      inputs: { region: 'us-east-1', defaultTags: JSON.stringify({ tags: TAGS }) },
    },
    res('aws:kms/key:Key', 'data', { enableKeyRotation: true }),
    uploads,
    res(
      'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
      'uploads',
      {
        bucket: 'uploads-id',
        rules: [
          { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'key-arn' } },
        ],
      },
      child,
    ),
    res(
      'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
      'uploads',
      {
        bucket: 'uploads-id',
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    ),
    res(
      'aws:s3/bucketPolicy:BucketPolicy',
      'uploads',
      { bucket: 'uploads-id', policy: tlsOnlyPolicy('bp-test-uploads') },
      child,
    ),
    logs,
    res('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'logs', {
      bucket: 'bp-test-logs',
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    }),
    res('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'logs', {
      bucket: 'bp-test-logs',
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }),
    res('aws:s3/bucketPolicy:BucketPolicy', 'logs', {
      bucket: 'bp-test-logs',
      policy: tlsOnlyPolicy('bp-test-logs'),
    }),
    res('aws:rds/parameterGroup:ParameterGroup', 'pg', {
      family: 'postgres17',
      parameters: [{ name: 'rds.force_ssl', value: '1', applyMethod: 'pending-reboot' }],
    }),
    res('aws:rds/instance:Instance', 'db', {
      engine: 'postgres',
      instanceClass: 'db.r6g.2xlarge',
      storageEncrypted: true,
      kmsKeyId: 'key-arn',
      multiAz: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      parameterGroupName: 'pg-name',
    }),
    res('aws:rds/instance:Instance', 'db-read', {
      engine: 'postgres',
      instanceClass: 'db.r6g.2xlarge',
      replicateSourceDb: 'db-id',
      parameterGroupName: 'pg-name',
    }),
    res('aws:elasticache/replicationGroup:ReplicationGroup', 'cache', {
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
    }),
    res('aws:cloudwatch/logGroup:LogGroup', 'service-logs', { retentionInDays: 30, kmsKeyId: 'key-arn' }),
    res('aws:ebs/volume:Volume', 'scratch', { encrypted: true, size: 10, availabilityZone: 'us-east-1a' }),
    res('aws:ec2/launchTemplate:LaunchTemplate', 'lt', {
      blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { encrypted: 'true', volumeSize: 20 } }],
    }),
    res(
      'aws:ec2/securityGroup:SecurityGroup',
      'alb-sg',
      {
        vpcId: 'vpc-1',
        ingress: [80, 443].map((p) => ({
          protocol: 'tcp',
          fromPort: p,
          toPort: p,
          cidrBlocks: ['0.0.0.0/0'],
          ipv6CidrBlocks: ['::/0'],
        })),
      },
      { outputs: { id: 'sg-alb' } },
    ),
    res(
      'aws:ec2/securityGroup:SecurityGroup',
      'service-sg',
      { vpcId: 'vpc-1' },
      { outputs: { id: 'sg-svc' } },
    ),
    res('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'service-from-alb', {
      securityGroupId: 'sg-svc',
      referencedSecurityGroupId: 'sg-alb',
      ipProtocol: 'tcp',
      fromPort: 3000,
      toPort: 3000,
    }),
    res(
      'aws:lb/loadBalancer:LoadBalancer',
      'alb',
      { loadBalancerType: 'application', securityGroups: ['sg-alb'], internal: false },
      { outputs: { arn: 'arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/alb/1' } },
    ),
    res('aws:lb/listener:Listener', 'http', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/alb/1',
      port: 80,
      protocol: 'HTTP',
      defaultActions: [
        { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
      ],
    }),
    res('aws:lb/listener:Listener', 'https', {
      port: 443,
      protocol: 'HTTPS',
      sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      defaultActions: [
        { type: 'fixed-response', fixedResponse: { contentType: 'text/plain', statusCode: '404' } },
      ],
    }),
    res('aws:wafv2/webAclAssociation:WebAclAssociation', 'alb-waf', {
      resourceArn: 'arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/alb/1',
      webAclArn: 'arn:aws:wafv2:us-east-1:1:regional/webacl/x/1',
    }),
    res('aws:cloudfront/distribution:Distribution', 'cdn', {
      enabled: true,
      webAclId: 'arn:aws:wafv2::1:global/webacl/y/2',
      defaultCacheBehavior: { targetOriginId: 'assets', viewerProtocolPolicy: 'redirect-to-https' },
      orderedCacheBehaviors: [
        { pathPattern: '/api/*', targetOriginId: 'api', viewerProtocolPolicy: 'https-only' },
      ],
      origins: [
        { originId: 'assets', domainName: 'assets.s3.us-east-1.amazonaws.com' },
        {
          originId: 'api',
          domainName: 'api.example.com',
          customOriginConfig: { originProtocolPolicy: 'https-only', httpPort: 80, httpsPort: 443 },
        },
      ],
      viewerCertificate: {
        acmCertificateArn: 'cert',
        minimumProtocolVersion: 'TLSv1.2_2021',
        sslSupportMethod: 'sni-only',
      },
    }),
    res('aws:ecs/service:Service', 'service', {
      launchType: 'FARGATE',
      deploymentCircuitBreaker: { enable: true, rollback: true },
    }),
  ]
  return { project: PROJECT, stack: STACK, region: 'us-east-1', resources }
}

/** The resource of `type` named `name` in an inventory (throws when absent, so a typo cannot pass). */
export function find(inv: PackInventory, type: string, name: string): PackResource {
  const r = inv.resources.find((x) => x.type.endsWith(type) && x.name === name)
  if (!r) throw new Error(`fixture has no ${type} ${name}`)
  return r
}

/** Removes the resource of `type` named `name`. */
export function remove(inv: PackInventory, type: string, name: string): void {
  const r = find(inv, type, name)
  inv.resources.splice(inv.resources.indexOf(r), 1)
}
