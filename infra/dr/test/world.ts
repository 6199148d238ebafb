// A small simulated AWS for the DR command's tests: two regions' RDS instances, SSM parameters,
// CloudWatch ReplicaLag and Route 53 health checks, served through aws-sdk-client-mock with response
// shapes as the real APIs return them. State changes (promotion, Multi-AZ conversion) advance one
// step per DescribeDBInstances call, the way RDS moves through modifying -> rebooting -> available.
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch'
import {
  type DBInstance,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  PromoteReadReplicaCommand,
  RDSClient,
  RDSServiceException,
} from '@aws-sdk/client-rds'
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  ListTagsForResourcesCommand,
  Route53Client,
} from '@aws-sdk/client-route-53'
import {
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  ThrottlingException,
} from '@aws-sdk/client-ssm'
import { mockClient } from 'aws-sdk-client-mock'
import type { DrClients, RegionClients } from '../aws.js'
import { main } from '../cli.js'
import type { Clock } from '../clock.js'
import type { Output } from '../log.js'

// The SDK warns once per process that Node 20 support ends in 2027; operators see it, test output need not.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

export const ACCOUNT = '123456789012'
export const US_HOST = 'blueprint-us-east-db.c9akciq32wxy.us-east-1.rds.amazonaws.com'
export const EU_HOST = 'blueprint-eu-west-db-replica.cz1xkq8ra0pd.eu-west-1.rds.amazonaws.com'
export const US_ARN = `arn:aws:rds:us-east-1:${ACCOUNT}:db:blueprint-us-east-db`
export const EU_ARN = `arn:aws:rds:eu-west-1:${ACCOUNT}:db:blueprint-eu-west-db-replica`
export const START = new Date('2026-11-22T03:00:00.000Z')

const meta = {
  httpStatusCode: 400,
  requestId: '5d3c8a0e-6a41-4c1b-9f1e-2b7b1c2f8e11',
  attempts: 1,
  totalRetryDelay: 0,
}

/** RDS's Query-protocol throttling error as the SDK surfaces it. */
export function rdsThrottling(): Error {
  return new RDSServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: meta,
    message: 'Rate exceeded',
  })
}

/** SSM's JSON-protocol throttling error. */
export function ssmThrottling(): Error {
  return new ThrottlingException({ $metadata: meta, message: 'Rate exceeded', Message: 'Rate exceeded' })
}

/** The US primary as DescribeDBInstances returns it. */
export function usPrimary(over: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: 'blueprint-us-east-db',
    DBInstanceArn: US_ARN,
    DBInstanceClass: 'db.r6g.2xlarge',
    Engine: 'postgres',
    EngineVersion: '17.4',
    DBInstanceStatus: 'available',
    Endpoint: { Address: US_HOST, Port: 5432, HostedZoneId: 'Z2R2ITUGPM61AM' },
    AllocatedStorage: 1000,
    StorageType: 'gp3',
    StorageEncrypted: true,
    MultiAZ: true,
    BackupRetentionPeriod: 7,
    DeletionProtection: true,
    AvailabilityZone: 'us-east-1a',
    SecondaryAvailabilityZone: 'us-east-1b',
    PendingModifiedValues: {},
    ReadReplicaDBInstanceIdentifiers: [EU_ARN],
    ...over,
  }
}

/** The EU cross-region replica as DescribeDBInstances returns it. */
export function euReplica(over: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: 'blueprint-eu-west-db-replica',
    DBInstanceArn: EU_ARN,
    DBInstanceClass: 'db.r6g.2xlarge',
    Engine: 'postgres',
    EngineVersion: '17.4',
    DBInstanceStatus: 'available',
    Endpoint: { Address: EU_HOST, Port: 5432, HostedZoneId: 'Z29XKXDKYMONMX' },
    AllocatedStorage: 1000,
    StorageType: 'gp3',
    StorageEncrypted: true,
    MultiAZ: false,
    BackupRetentionPeriod: 0,
    DeletionProtection: true,
    AvailabilityZone: 'eu-west-1a',
    PendingModifiedValues: {},
    ReadReplicaSourceDBInstanceIdentifier: US_ARN,
    ReadReplicaDBInstanceIdentifiers: [],
    StatusInfos: [{ StatusType: 'read replication', Normal: true, Status: 'replicating' }],
    ...over,
  }
}

const CHECKER_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
]

/** GetHealthCheckStatus observations: `healthy` of 16 checkers report success. */
export function observations(healthy: number, checkedTime: Date) {
  return CHECKER_REGIONS.flatMap((region, r) =>
    [0, 1].map((k) => {
      const ok = r * 2 + k < healthy
      return {
        Region: region,
        IPAddress: `15.177.${r * 2 + k}.${10 + k}`,
        StatusReport: {
          Status: ok
            ? 'Success: HTTP Status Code 200, OK'
            : 'Failure: Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.',
          CheckedTime: checkedTime,
        },
      }
    }),
  )
}

type Region = 'us-east-1' | 'eu-west-1'

/** Mutable simulated state plus the mocked clients built on it. */
export class World {
  now = new Date(START)
  instances: Record<Region, DBInstance | undefined> = { 'us-east-1': usPrimary(), 'eu-west-1': euReplica() }
  /** States an instance moves through, one per DescribeDBInstances call. */
  transitions: Record<Region, Partial<DBInstance>[]> = { 'us-east-1': [], 'eu-west-1': [] }
  parameters: Record<Region, Record<string, string>> = {
    'us-east-1': { '/blueprint/us-east/db/writer-endpoint': `${US_HOST}:5432` },
    'eu-west-1': { '/blueprint/eu-west/db/writer-endpoint': `${US_HOST}:5432` },
  }
  /** ReplicaLag datapoints (seconds) for the EU replica, newest last, one per minute up to now. */
  lag: number[] = [2, 1, 3]
  /** How long ago CloudWatch stopped receiving ReplicaLag (0: the newest point is a minute old). */
  lagSilentMs = 0
  healthyCheckers: Record<string, number> = { 'hc-us-0001': 16, 'hc-eu-0002': 16 }
  unreachable = new Set<Region>()
  /** Errors thrown by the next calls of a command, keyed `Name` or `Name region`, before normal handling. */
  failures = new Map<string, Error[]>()
  /** Every command sent, in order, as `Name region` strings. */
  calls: string[] = []
  /** How many polls promotion and Multi-AZ conversion take. */
  promoteSteps: Partial<DBInstance>[] = [
    { DBInstanceStatus: 'available' },
    { DBInstanceStatus: 'modifying', ReadReplicaSourceDBInstanceIdentifier: undefined, StatusInfos: [] },
    { DBInstanceStatus: 'rebooting' },
    { DBInstanceStatus: 'available', BackupRetentionPeriod: 7 },
  ]
  hardenSteps: Partial<DBInstance>[] = [
    { DBInstanceStatus: 'modifying', PendingModifiedValues: { MultiAZ: true } },
    { DBInstanceStatus: 'modifying', PendingModifiedValues: { MultiAZ: true } },
    {
      DBInstanceStatus: 'available',
      MultiAZ: true,
      PendingModifiedValues: {},
      SecondaryAvailabilityZone: 'eu-west-1b',
    },
  ]
  /** Runs when RDS accepts PromoteReadReplica, e.g. to break the polls that follow. */
  onPromote: () => void = () => {}
  changeStatus = ['PENDING', 'INSYNC']
  out: string[] = []
  err: string[] = []

  readonly clock: Clock = {
    now: () => new Date(this.now),
    sleep: async (ms) => {
      this.now = new Date(this.now.getTime() + ms)
    },
  }
  readonly output: Output = { out: (l) => this.out.push(l), err: (l) => this.err.push(l) }
  readonly regional: Record<Region, RegionClients>
  readonly route53 = new Route53Client({ region: 'us-east-1' })
  readonly mocks: { restore(): void }[] = []

  constructor() {
    const make = (region: Region): RegionClients => ({
      rds: new RDSClient({ region }),
      cloudwatch: new CloudWatchClient({ region }),
      ssm: new SSMClient({ region }),
    })
    this.regional = { 'us-east-1': make('us-east-1'), 'eu-west-1': make('eu-west-1') }
    for (const region of ['us-east-1', 'eu-west-1'] as const) this.wireRegion(region)
    this.wireRoute53()
  }

  /** The clients the command receives. */
  get clients(): DrClients {
    return {
      forRegion: (region) => {
        const clients = this.regional[region as Region]
        if (!clients) throw new Error(`test world has no region ${region}`)
        return clients
      },
      route53: this.route53,
    }
  }

  /** Queues errors for the next calls of a command. */
  fail(command: string, ...errors: Error[]): this {
    this.failures.set(command, [...(this.failures.get(command) ?? []), ...errors])
    return this
  }

  /** Runs `npm run dr -- <argv>` against this world; instant retries keep tests fast. */
  run(...argv: string[]): Promise<number> {
    return main(argv, {
      clients: this.clients,
      clock: this.clock,
      output: this.output,
      retry: { attempts: 4, baseDelayMs: 500, maxDelayMs: 4000 },
    })
  }

  /** Everything printed, one string. */
  get text(): string {
    return [...this.out, ...this.err].join('\n')
  }

  restore(): void {
    for (const mock of this.mocks) mock.restore()
  }

  private enter(command: string, region: string): void {
    this.calls.push(`${command} ${region}`)
    if (this.unreachable.has(region as Region)) {
      const error = new Error(`getaddrinfo ENOTFOUND rds.${region}.amazonaws.com`)
      error.name = 'Error'
      throw error
    }
    const next = this.failures.get(`${command} ${region}`)?.shift() ?? this.failures.get(command)?.shift()
    if (next) throw next
  }

  private wireRegion(region: Region): void {
    const { rds, cloudwatch, ssm } = this.regional[region]
    const rdsMock = mockClient(rds)
    const cwMock = mockClient(cloudwatch)
    const ssmMock = mockClient(ssm)
    this.mocks.push(rdsMock, cwMock, ssmMock)

    rdsMock.on(DescribeDBInstancesCommand).callsFake((input) => {
      this.enter('DescribeDBInstances', region)
      const step = this.transitions[region].shift()
      if (step && this.instances[region]) this.instances[region] = { ...this.instances[region], ...step }
      const instance = this.instances[region]
      const wanted: string[] = input.DBInstanceIdentifier
        ? [input.DBInstanceIdentifier]
        : (input.Filters?.find((f: { Name: string }) => f.Name === 'db-instance-id')?.Values ?? [])
      const found = instance && wanted.includes(instance.DBInstanceIdentifier ?? '') ? [instance] : []
      if (input.DBInstanceIdentifier && found.length === 0) {
        throw new RDSServiceException({
          name: 'DBInstanceNotFound',
          $fault: 'client',
          $metadata: { ...meta, httpStatusCode: 404 },
          message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
        })
      }
      return { DBInstances: structuredClone(found) }
    })
    rdsMock.on(PromoteReadReplicaCommand).callsFake((input) => {
      this.enter('PromoteReadReplica', region)
      const instance = this.instances[region]
      if (!instance?.ReadReplicaSourceDBInstanceIdentifier || instance.DBInstanceStatus !== 'available') {
        throw new RDSServiceException({
          name: 'InvalidDBInstanceState',
          $fault: 'client',
          $metadata: meta,
          message: `DB Instance ${input.DBInstanceIdentifier} is not a read replica or not available.`,
        })
      }
      this.transitions[region].push(...this.promoteSteps)
      this.onPromote()
      return { DBInstance: structuredClone(instance) }
    })
    rdsMock.on(ModifyDBInstanceCommand).callsFake(() => {
      this.enter('ModifyDBInstance', region)
      this.transitions[region].push(...this.hardenSteps)
      return { DBInstance: structuredClone(this.instances[region]) }
    })
    cwMock.on(GetMetricStatisticsCommand).callsFake((input) => {
      this.enter('GetMetricStatistics', region)
      const id = input.Dimensions?.[0]?.Value
      if (id !== this.instances[region]?.DBInstanceIdentifier) return { Label: 'ReplicaLag', Datapoints: [] }
      // CloudWatch returns datapoints unordered; the newest is a minute old.
      const datapoints = this.lag.map((value, i) => ({
        Timestamp: new Date(this.now.getTime() - this.lagSilentMs - (this.lag.length - i) * 60_000),
        Maximum: value,
        Unit: 'Seconds' as const,
      }))
      return { Label: 'ReplicaLag', Datapoints: datapoints.reverse() }
    })
    ssmMock.on(GetParameterCommand).callsFake((input) => {
      this.enter('GetParameter', region)
      const value = this.parameters[region][input.Name]
      if (value === undefined) throw new ParameterNotFound({ $metadata: meta, message: '' })
      return {
        Parameter: {
          Name: input.Name,
          Type: 'String',
          Value: value,
          Version: 3,
          ARN: `arn:aws:ssm:${region}:${ACCOUNT}:parameter${input.Name}`,
          DataType: 'text',
        },
      }
    })
    ssmMock.on(PutParameterCommand).callsFake((input) => {
      this.enter('PutParameter', region)
      this.parameters[region][input.Name] = input.Value
      return { Version: 4, Tier: 'Standard' }
    })
  }

  private wireRoute53(): void {
    const mock = mockClient(this.route53)
    this.mocks.push(mock)
    mock.on(ListHealthChecksCommand).callsFake(() => {
      this.enter('ListHealthChecks', 'global')
      return {
        HealthChecks: Object.keys(this.healthyCheckers).map((Id, i) => ({
          Id,
          CallerReference: `pulumi-${i}`,
          HealthCheckConfig: {
            Type: 'HTTPS',
            ResourcePath: '/health/ready',
            RequestInterval: 30,
            FailureThreshold: 3,
          },
          HealthCheckVersion: 1,
        })),
        Marker: '',
        IsTruncated: false,
        MaxItems: 100,
      }
    })
    mock.on(ListTagsForResourcesCommand).callsFake((input) => {
      this.enter('ListTagsForResources', 'global')
      const stackOf: Record<string, string> = { 'hc-us-0001': 'us-east', 'hc-eu-0002': 'eu-west' }
      return {
        ResourceTagSets: (input.ResourceIds ?? []).map((id: string) => ({
          ResourceType: 'healthcheck',
          ResourceId: id,
          Tags: [
            { Key: 'project', Value: 'blueprint' },
            { Key: 'stack', Value: stackOf[id] ?? 'other' },
          ],
        })),
      }
    })
    mock.on(GetHealthCheckStatusCommand).callsFake((input) => {
      this.enter('GetHealthCheckStatus', 'global')
      const healthy = this.healthyCheckers[input.HealthCheckId] ?? 0
      return { HealthCheckObservations: observations(healthy, this.now) }
    })
    mock.on(ChangeResourceRecordSetsCommand).callsFake(() => {
      this.enter('ChangeResourceRecordSets', 'global')
      return { ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: this.now } }
    })
    mock.on(GetChangeCommand).callsFake(() => {
      this.enter('GetChange', 'global')
      const status = this.changeStatus.length > 1 ? this.changeStatus.shift() : this.changeStatus[0]
      return { ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: status, SubmittedAt: this.now } }
    })
  }
}
