import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch'
import { type DBInstance, DescribeDBInstancesCommand } from '@aws-sdk/client-rds'
import {
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  ListTagsForResourcesCommand,
} from '@aws-sdk/client-route-53'
import { GetParameterCommand } from '@aws-sdk/client-ssm'
import { aws, type Context } from './context.js'
import { describeError } from './errors.js'
import { DEFAULT_DB_PORT, type Site, TAG_KEYS } from './topology.js'

/** What RDS says about one site's database. */
export interface DbObservation {
  /**
   * `unreachable` when the regional API could not be reached (the disaster case); `denied` when our own
   * credentials or permissions failed, which says nothing about the database's health.
   */
  role: 'primary' | 'replica' | 'missing' | 'unreachable' | 'denied'
  id?: string
  arn?: string
  status?: string
  /** Source instance (an ARN for cross-region replicas) when this is a replica. */
  sourceId?: string
  replicaIds: string[]
  /** `host:port` of the instance, the value format of the writer-endpoint parameter. */
  endpoint?: string
  multiAz?: boolean
  backupRetentionDays?: number
  /** RDS's "read replication" status info (`replicating`, `error`, ...), when present. */
  replicationState?: string
  /** Other instances matching the site's candidate names (e.g. an old primary during failback). */
  alsoFound: string[]
  error?: string
}

/** Replica lag from CloudWatch; `seconds` is absent when it cannot be trusted. */
export interface LagObservation {
  seconds?: number
  at?: Date
  reason?: string
}

/** A Route 53 health check's verdict as its checkers report it. */
export interface HealthObservation {
  state: 'healthy' | 'unhealthy' | 'unknown'
  id?: string
  healthyCheckers: number
  totalCheckers: number
  reason?: string
}

/** The writer endpoint the services of a site currently use. */
export interface WriterObservation {
  value?: string
  error?: string
}

// Failures of the operator's own access, as opposed to the region being down.
const ACCESS_ERRORS = new Set([
  'CredentialsProviderError',
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
])

/** True when AWS rejected who we are or what we may do. */
export function isAccessError(error: unknown): boolean {
  return error instanceof Error && ACCESS_ERRORS.has(error.name)
}

/** Endpoint of an RDS instance in the writer-parameter format. */
export function endpointOf(instance: DBInstance): string | undefined {
  const host = instance.Endpoint?.Address
  return host ? `${host}:${instance.Endpoint?.Port ?? DEFAULT_DB_PORT}` : undefined
}

/** `host:port` for a writer value, so a bare host still matches its instance when comparing. */
export function normalizeEndpoint(value: string): string {
  return /:\d+$/.test(value) ? value : `${value}:${DEFAULT_DB_PORT}`
}

/** Describes a site's DB instance; region outages come back as `unreachable`, not as exceptions. */
export async function observeDb(ctx: Context, site: Site): Promise<DbObservation> {
  const { rds } = ctx.clients.forRegion(site.region)
  let instances: DBInstance[]
  try {
    const result = await aws(ctx, `DescribeDBInstances ${site.region}`, () =>
      rds.send(
        new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-instance-id', Values: site.dbCandidates }] }),
      ),
    )
    instances = result.DBInstances ?? []
  } catch (error) {
    const role = isAccessError(error) ? 'denied' : 'unreachable'
    return { role, replicaIds: [], alsoFound: [], error: describeError(error) }
  }
  // Candidate order is preference order: the conventional primary name before the replica name.
  const ordered = site.dbCandidates
    .map((id) => instances.find((i) => i.DBInstanceIdentifier === id))
    .filter((i): i is DBInstance => i !== undefined)
  const [instance, ...others] = ordered
  if (!instance) return { role: 'missing', replicaIds: [], alsoFound: [] }
  const sourceId = instance.ReadReplicaSourceDBInstanceIdentifier
  const replication = instance.StatusInfos?.find((s) => s.StatusType === 'read replication')
  return {
    role: sourceId ? 'replica' : 'primary',
    id: instance.DBInstanceIdentifier,
    arn: instance.DBInstanceArn,
    status: instance.DBInstanceStatus,
    ...(sourceId ? { sourceId } : {}),
    replicaIds: instance.ReadReplicaDBInstanceIdentifiers ?? [],
    endpoint: endpointOf(instance),
    multiAz: instance.MultiAZ,
    backupRetentionDays: instance.BackupRetentionPeriod,
    ...(replication?.Status ? { replicationState: replication.Status } : {}),
    alsoFound: others.map((i) => i.DBInstanceIdentifier ?? '?'),
  }
}

// RDS publishes ReplicaLag every minute; a newest point older than this means the metric stopped,
// which happens exactly when replication is broken, so it must not pass for "low lag".
const LAG_STALE_MS = 5 * 60_000

/** Latest ReplicaLag (seconds) of a replica; unknown when missing, stale or negative. */
export async function observeLag(ctx: Context, site: Site, dbId: string): Promise<LagObservation> {
  const { cloudwatch } = ctx.clients.forRegion(site.region)
  const end = ctx.clock.now()
  let points: { Timestamp?: Date; Maximum?: number }[]
  try {
    const result = await aws(ctx, `GetMetricStatistics ReplicaLag ${dbId}`, () =>
      cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/RDS',
          MetricName: 'ReplicaLag',
          Dimensions: [{ Name: 'DBInstanceIdentifier', Value: dbId }],
          StartTime: new Date(end.getTime() - 2 * LAG_STALE_MS),
          EndTime: end,
          Period: 60,
          Statistics: ['Maximum'],
        }),
      ),
    )
    points = result.Datapoints ?? []
  } catch (error) {
    return { reason: `CloudWatch error: ${describeError(error)}` }
  }
  const latest = points
    .filter((p) => p.Timestamp && typeof p.Maximum === 'number')
    .sort((a, b) => (b.Timestamp?.getTime() ?? 0) - (a.Timestamp?.getTime() ?? 0))[0]
  if (!latest?.Timestamp || latest.Maximum === undefined) {
    return { reason: 'no ReplicaLag datapoints in the last 10 minutes' }
  }
  const age = end.getTime() - latest.Timestamp.getTime()
  if (age > LAG_STALE_MS) {
    return { at: latest.Timestamp, reason: `newest ReplicaLag point is ${Math.round(age / 60_000)} min old` }
  }
  // RDS reports -1 when replication is not running.
  if (latest.Maximum < 0)
    return { at: latest.Timestamp, reason: 'ReplicaLag is -1 (replication not running)' }
  return { seconds: latest.Maximum, at: latest.Timestamp }
}

// Route 53 treats an endpoint as healthy when more than 18% of its checkers see it healthy.
const HEALTHY_FRACTION = 0.18

/** The Route 53 health check verdict for a site, finding the check by tags when no id was given. */
export async function observeHealth(ctx: Context, site: Site): Promise<HealthObservation> {
  const unknown = (reason: string, id?: string): HealthObservation => ({
    state: 'unknown',
    healthyCheckers: 0,
    totalCheckers: 0,
    reason,
    ...(id ? { id } : {}),
  })
  let id = site.healthCheckId
  try {
    id ??= await findHealthCheck(ctx, site)
  } catch (error) {
    return unknown(`could not list health checks: ${describeError(error)}`)
  }
  if (!id)
    return unknown(
      `no health check tagged ${TAG_KEYS.project}=${ctx.topology.project}, ${TAG_KEYS.stack}=${site.stack}`,
    )
  try {
    const healthCheckId = id
    const result = await aws(ctx, `GetHealthCheckStatus ${id}`, () =>
      ctx.clients.route53.send(new GetHealthCheckStatusCommand({ HealthCheckId: healthCheckId })),
    )
    const observations = result.HealthCheckObservations ?? []
    const healthy = observations.filter((o) => o.StatusReport?.Status?.startsWith('Success')).length
    if (observations.length === 0) return unknown('health check has no observations yet', id)
    return {
      state: healthy / observations.length > HEALTHY_FRACTION ? 'healthy' : 'unhealthy',
      id,
      healthyCheckers: healthy,
      totalCheckers: observations.length,
    }
  } catch (error) {
    return unknown(`GetHealthCheckStatus failed: ${describeError(error)}`, id)
  }
}

async function findHealthCheck(ctx: Context, site: Site): Promise<string | undefined> {
  const ids: string[] = []
  let marker: string | undefined
  do {
    const page = await aws(ctx, 'ListHealthChecks', () =>
      ctx.clients.route53.send(new ListHealthChecksCommand({ ...(marker ? { Marker: marker } : {}) })),
    )
    ids.push(...(page.HealthChecks ?? []).map((h) => h.Id).filter((x): x is string => !!x))
    marker = page.IsTruncated ? page.NextMarker : undefined
  } while (marker)
  // ListTagsForResources takes at most 10 ids per call.
  for (let i = 0; i < ids.length; i += 10) {
    const batch = ids.slice(i, i + 10)
    const result = await aws(ctx, 'ListTagsForResources healthcheck', () =>
      ctx.clients.route53.send(
        new ListTagsForResourcesCommand({ ResourceType: 'healthcheck', ResourceIds: batch }),
      ),
    )
    for (const set of result.ResourceTagSets ?? []) {
      const tags = new Map((set.Tags ?? []).map((t) => [t.Key, t.Value]))
      if (tags.get(TAG_KEYS.project) === ctx.topology.project && tags.get(TAG_KEYS.stack) === site.stack) {
        return set.ResourceId
      }
    }
  }
  return undefined
}

/** The writer endpoint parameter of a site (in the site's own region). */
export async function observeWriter(ctx: Context, site: Site): Promise<WriterObservation> {
  const { ssm } = ctx.clients.forRegion(site.region)
  try {
    const result = await aws(ctx, `GetParameter ${site.writerParameter}`, () =>
      ssm.send(new GetParameterCommand({ Name: site.writerParameter })),
    )
    return result.Parameter?.Value ? { value: result.Parameter.Value } : { error: 'parameter has no value' }
  } catch (error) {
    return { error: describeError(error) }
  }
}
