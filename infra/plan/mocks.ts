import { createHash } from 'node:crypto'
import type * as pulumi from '@pulumi/pulumi'

/** Fake AWS account every mocked ARN carries. */
export const MOCK_ACCOUNT = '123456789012'

// Canonical hosted-zone ids of ALBs per region (what AWS returns as `zoneId`).
const ALB_ZONE_IDS: Record<string, string> = { 'us-east-1': 'Z35SXDOTRQ7X7K', 'eu-west-1': 'Z32O12XQLNTSW2' }

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 17)

type State = Record<string, unknown>

/** The id the mocks give a resource without a natural id (tests use it to follow references). */
export function mockId(type: string, name: string): string {
  return `${name}-${short(`${type}/${name}`)}`
}

/**
 * Pulumi mocks that answer like AWS would: ids, ARNs, DNS names and endpoints shaped like the real ones, in
 * the region of the provider a resource uses. Outputs of other stacks come from `stackOutputs`.
 */
export class AwsMocks implements pulumi.runtime.Mocks {
  private readonly providerRegions = new Map<string, string>()
  /** Validation record names of each certificate created so far, by ARN (what DescribeCertificate returns). */
  private readonly certificateRecords = new Map<string, { domainName: string; recordName: string }[]>()
  /** SSM parameters `aws:ssm/getParameter` answers from: what a deploy recorded outside the stack files. */
  readonly parameters: Map<string, string>
  /**
   * Errors the real provider would return for what was registered. Recorded rather than thrown so one run can
   * report all of them; `buildStack` fails on them unless asked to return them.
   */
  readonly providerErrors: string[] = []
  /** `ignoreChanges` of each registration by name (the mock interface does not carry resource options). */
  readonly ignoreChanges = new Map<string, string[]>()
  /** Whether the run refreshes first, so managed parameters carry what is in SSM (data sources always do). */
  private readonly refresh: boolean

  constructor(
    private readonly defaultRegion: string,
    private readonly stackOutputs: (stackName: string) => State,
    opts: { parameters?: Record<string, string>; refresh?: boolean } = {},
  ) {
    this.parameters = new Map(Object.entries(opts.parameters ?? {}))
    this.refresh = opts.refresh ?? true
  }

  private regionOf(providerRef: string | undefined): string {
    const id = providerRef?.split('::').pop()
    return (id && this.providerRegions.get(id)) || this.defaultRegion
  }

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
    const inputs = args.inputs as State
    if (args.type === 'pulumi:pulumi:StackReference') {
      const name = String(inputs.name)
      return { id: name, state: { name, outputs: this.stackOutputs(name), secretOutputNames: [] } }
    }
    if (args.type.startsWith('pulumi:providers:')) {
      const id = `${args.name}-${short(args.name)}`
      this.providerRegions.set(id, String(inputs.region ?? this.defaultRegion))
      return { id, state: inputs }
    }
    const region = this.regionOf(args.provider)
    const id = mockId(args.type, args.name)
    const arn = (service: string, resource: string, regional = true) =>
      `arn:aws:${service}:${regional ? region : ''}:${MOCK_ACCOUNT}:${resource}`
    const extra = outputsFor(args.type, args.name, inputs, id, region, arn)
    if (args.type === 'aws:ssm/parameter:Parameter' && this.refresh) {
      // A parameter whose value the program ignores keeps what is in SSM: a refresh reads it into the state and
      // the update leaves it there. Without ignoreChanges the update writes the program's value back.
      const stored = this.parameters.get(String(inputs.name))
      const ignored = this.ignoreChanges.get(args.name) ?? []
      if (stored !== undefined && ignored.includes('insecureValue')) extra.insecureValue = stored
      if (stored !== undefined && ignored.includes('value')) extra.value = stored
    }
    if (args.type === 'aws:acm/certificate:Certificate') {
      const options = extra.domainValidationOptions as { domainName: string; resourceRecordName: string }[]
      this.certificateRecords.set(
        String(extra.arn),
        options.map((o) => ({ domainName: o.domainName, recordName: o.resourceRecordName })),
      )
    }
    if (args.type === 'aws:rds/instance:Instance') {
      const error = rdsCredentialsError(inputs)
      if (error) this.providerErrors.push(`${args.name} [${args.type}]: ${error}`)
    }
    if (args.type === 'aws:acm/certificateValidation:CertificateValidation') {
      const error = certificateValidationError(
        this.certificateRecords.get(String(inputs.certificateArn)),
        inputs,
      )
      if (error) this.providerErrors.push(`${args.name} [${args.type}]: ${error}`)
    }
    return {
      id: (extra.id as string | undefined) ?? id,
      state: { ...inputs, arn: arn(serviceOf(args.type), id), ...extra },
    }
  }

  call(args: pulumi.runtime.MockCallArgs): State {
    const region = this.regionOf(args.provider)
    switch (args.token) {
      case 'aws:index/getCallerIdentity:getCallerIdentity':
        return {
          accountId: MOCK_ACCOUNT,
          arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/deployer`,
          userId: 'AIDAEXAMPLE',
          id: MOCK_ACCOUNT,
        }
      case 'aws:index/getRegion:getRegion':
        return { region, name: region, id: region, endpoint: `ec2.${region}.amazonaws.com` }
      case 'aws:index/getPartition:getPartition':
        return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' }
      case 'aws:ssm/getParameter:getParameter': {
        const name = String(args.inputs.name)
        const value = this.parameters.get(name)
        // The provider fails a data source read of a missing parameter (ParameterNotFound).
        if (value === undefined) throw new Error(`ParameterNotFound: SSM parameter ${name} (${region})`)
        return {
          name,
          value,
          insecureValue: value,
          type: 'String',
          version: 1,
          id: name,
          arn: `arn:aws:ssm:${region}:${MOCK_ACCOUNT}:parameter${name}`,
        }
      }
      default:
        throw new Error(`no mock for invoke ${args.token}`)
    }
  }
}

/**
 * Master credentials on `aws_db_instance` (terraform-provider-aws internal/service/rds/instance.go and the RDS
 * API): `manage_master_user_password` conflicts with `password`; `username` conflicts with
 * `replicate_source_db`; a read replica cannot manage a password of its own ("ManageMasterUserPassword isn't
 * supported for read replica") and cannot set one (physical replication: it is the source's).
 */
function rdsCredentialsError(inputs: State): string | undefined {
  if (inputs.manageMasterUserPassword && inputs.password !== undefined) {
    return '"manage_master_user_password": conflicts with password'
  }
  if (inputs.replicateSourceDb === undefined) return undefined
  if (inputs.username !== undefined) return '"username": conflicts with replicate_source_db'
  if (inputs.manageMasterUserPassword)
    return "InvalidParameterValue: ManageMasterUserPassword isn't supported for read replica"
  if (inputs.password !== undefined) {
    return 'InvalidParameterCombination: Cannot change master user password on an RDS postgres Read Replica'
  }
  return undefined
}

/**
 * terraform-provider-aws `aws_acm_certificate_validation` create: when `validation_record_fqdns` is set, every
 * DNS validation record of the certificate must be in it (dots trimmed), else "missing <domain> DNS validation
 * record: <fqdn>". Mocks that accepted anything let a stack that can never validate pass.
 */
function certificateValidationError(
  records: { domainName: string; recordName: string }[] | undefined,
  inputs: State,
): string | undefined {
  const given = inputs.validationRecordFqdns as string[] | undefined
  if (!records || !given?.length) return undefined
  const supplied = new Set(given.map((f) => String(f).replace(/\.$/, '')))
  const missing = records.filter((r) => !supplied.has(r.recordName.replace(/\.$/, '')))
  if (!missing.length) return undefined
  return missing
    .map((m) => `missing ${m.domainName} DNS validation record: ${m.recordName.replace(/\.$/, '')}`)
    .join('; ')
}

/**
 * The order the provider returns `domainValidationOptions` in: a Terraform set, ordered by element hash, not by
 * declaration. Picking a record by position therefore picks an arbitrary name; the mocks reproduce that.
 */
export function setOrder<T extends { domainName: unknown }>(options: T[]): T[] {
  const key = (o: T) =>
    createHash('sha256')
      .update(`set:${String(o.domainName)}`)
      .digest('hex')
  return [...options].sort((a, b) => key(a).localeCompare(key(b)))
}

function serviceOf(type: string): string {
  return type.split(':')[1]?.split('/')[0] ?? 'unknown'
}

function outputsFor(
  type: string,
  name: string,
  inputs: State,
  id: string,
  region: string,
  arn: (service: string, resource: string, regional?: boolean) => string,
): State {
  switch (type) {
    case 'aws:s3/bucket:Bucket': {
      const bucket = String(inputs.bucket ?? id)
      return {
        id: bucket,
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        region,
      }
    }
    case 'aws:kms/key:Key':
      return { keyId: id, arn: arn('kms', `key/${id}`) }
    case 'aws:kms/alias:Alias':
      return { arn: arn('kms', String(inputs.name)) }
    case 'aws:lb/loadBalancer:LoadBalancer':
      return {
        dnsName: `${name}-${short(name).slice(0, 9)}.${region}.elb.amazonaws.com`,
        zoneId: ALB_ZONE_IDS[region] ?? 'Z0000000000000',
        arn: arn('elasticloadbalancing', `loadbalancer/app/${name}/${short(name)}`),
        arnSuffix: `app/${name}/${short(name)}`,
      }
    case 'aws:lb/targetGroup:TargetGroup':
      return {
        arn: arn('elasticloadbalancing', `targetgroup/${name}/${short(name)}`),
        arnSuffix: `targetgroup/${name}/${short(name)}`,
      }
    case 'aws:rds/instance:Instance': {
      const identifier = String(inputs.identifier ?? id)
      const address = `${identifier}.c9akciq32.${region}.rds.amazonaws.com`
      return {
        id: identifier,
        identifier,
        address,
        endpoint: `${address}:5432`,
        port: 5432,
        arn: arn('rds', `db:${identifier}`),
        // RDS names the secret itself (rds!db-<uuid>) and encrypts it with the given key, else aws/secretsmanager.
        masterUserSecrets: inputs.manageMasterUserPassword
          ? [
              {
                secretArn: arn('secretsmanager', `secret:rds!db-${short(identifier)}-AbCdEf`),
                secretStatus: 'active',
                kmsKeyId: inputs.masterUserSecretKmsKeyId ?? arn('kms', 'alias/aws/secretsmanager'),
              },
            ]
          : [],
      }
    }
    case 'aws:rds/parameterGroup:ParameterGroup':
    case 'aws:rds/subnetGroup:SubnetGroup':
    case 'aws:elasticache/subnetGroup:SubnetGroup':
      return { id: String(inputs.name ?? id), name: String(inputs.name ?? id) }
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return {
        id: String(inputs.replicationGroupId),
        configurationEndpointAddress: `clustercfg.${inputs.replicationGroupId}.x1y2z3.${region.replace(/-\d$/, '')}1.cache.amazonaws.com`,
        arn: arn('elasticache', `replicationgroup:${inputs.replicationGroupId}`),
      }
    // ElastiCache names users and user groups by their ids (stored lowercase), ARNs `user:<id>`, `usergroup:<id>`.
    case 'aws:elasticache/user:User':
      return {
        id: String(inputs.userId).toLowerCase(),
        userId: String(inputs.userId).toLowerCase(),
        arn: arn('elasticache', `user:${String(inputs.userId).toLowerCase()}`),
      }
    case 'aws:elasticache/userGroup:UserGroup':
      return {
        id: String(inputs.userGroupId).toLowerCase(),
        userGroupId: String(inputs.userGroupId).toLowerCase(),
        arn: arn('elasticache', `usergroup:${String(inputs.userGroupId).toLowerCase()}`),
      }
    case 'aws:ecs/cluster:Cluster':
      return {
        id: arn('ecs', `cluster/${inputs.name}`),
        name: inputs.name,
        arn: arn('ecs', `cluster/${inputs.name}`),
      }
    case 'aws:ecs/service:Service':
      return { name: inputs.name }
    case 'aws:ecs/taskDefinition:TaskDefinition':
      return { arn: arn('ecs', `task-definition/${inputs.family}:1`), revision: 1 }
    case 'aws:iam/role:Role':
      return { name: id, arn: arn('iam', `role/${id}`, false) }
    case 'aws:secretsmanager/secret:Secret':
      return { arn: arn('secretsmanager', `secret:${inputs.name ?? id}-AbCdEf`) }
    case 'aws:sns/topic:Topic':
      return { arn: arn('sns', String(inputs.name ?? id)) }
    case 'aws:ssm/parameter:Parameter':
      return { id: String(inputs.name), arn: arn('ssm', `parameter${inputs.name}`) }
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { id: String(inputs.name ?? id), arn: arn('logs', `log-group:${inputs.name ?? id}`) }
    case 'aws:acm/certificate:Certificate': {
      const names = [inputs.domainName, ...((inputs.subjectAlternativeNames as string[] | undefined) ?? [])]
      return {
        arn: arn('acm', `certificate/${short(name)}`),
        domainValidationOptions: setOrder(
          names.map((n) => ({
            domainName: n,
            resourceRecordName: `_${short(String(n)).slice(0, 12)}.${n}.`,
            resourceRecordType: 'CNAME',
            resourceRecordValue: `_${short(`v${n}`).slice(0, 12)}.acm-validations.aws.`,
          })),
        ),
      }
    }
    case 'aws:acm/certificateValidation:CertificateValidation':
      return { certificateArn: inputs.certificateArn }
    case 'aws:route53/record:Record':
      return { fqdn: String(inputs.name ?? name).replace(/\.$/, '') }
    case 'aws:route53/healthCheck:HealthCheck':
      return { id: `${short(name).slice(0, 8)}-aaaa-bbbb-cccc-${short(`${name}hc`).slice(0, 12)}` }
    case 'aws:cloudfront/distribution:Distribution':
      return {
        id: `E${short(name).slice(0, 13).toUpperCase()}`,
        arn: `arn:aws:cloudfront::${MOCK_ACCOUNT}:distribution/E${short(name).slice(0, 13).toUpperCase()}`,
        domainName: `d${short(name).slice(0, 13)}.cloudfront.net`,
        hostedZoneId: 'Z2FDTNDATAQYW2',
      }
    case 'aws:wafv2/webAcl:WebAcl':
      return {
        arn: arn('wafv2', `${inputs.scope === 'CLOUDFRONT' ? 'global' : 'regional'}/webacl/${name}/${id}`),
      }
    case 'random:index/randomPassword:RandomPassword':
      return { result: `mock-${short(name)}${short(`${name}2`)}`, bcryptHash: 'mock' }
    default:
      return {}
  }
}
