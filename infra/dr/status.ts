import type { Context } from './context.js'
import {
  type DbObservation,
  type HealthObservation,
  type LagObservation,
  normalizeEndpoint,
  observeDb,
  observeHealth,
  observeLag,
  observeWriter,
  type WriterObservation,
} from './observe.js'
import type { Site } from './topology.js'

/** Everything the operator needs to know about one region before and after a promotion. */
export interface SiteStatus {
  stack: string
  region: string
  db: DbObservation
  lag?: LagObservation
  health: HealthObservation
  writer: WriterObservation
}

/** Both regions plus the inconsistencies an operator must act on. */
export interface StatusReport {
  checkedAt: string
  sites: SiteStatus[]
  warnings: string[]
}

/** Observes one site: DB role, lag when a replica, health check, writer parameter. */
export async function siteStatus(ctx: Context, site: Site): Promise<SiteStatus> {
  const [db, health, writer] = await Promise.all([
    observeDb(ctx, site),
    observeHealth(ctx, site),
    observeWriter(ctx, site),
  ])
  const lag = db.role === 'replica' && db.id ? await observeLag(ctx, site, db.id) : undefined
  return { stack: site.stack, region: site.region, db, ...(lag ? { lag } : {}), health, writer }
}

/** Observes both sites and derives warnings (two writers, services writing to a replica, ...). */
export async function collectStatus(ctx: Context): Promise<StatusReport> {
  const sites = await Promise.all(ctx.topology.sites.map((site) => siteStatus(ctx, site)))
  return { checkedAt: ctx.clock.now().toISOString(), sites, warnings: warningsFor(sites) }
}

function warningsFor(sites: SiteStatus[]): string[] {
  const warnings: string[] = []
  const primaries = sites.filter((s) => s.db.role === 'primary')
  if (primaries.length > 1) {
    warnings.push(
      `two standalone writers (${primaries.map((p) => p.db.id).join(', ')}): make sure every writer parameter points at one of them, then run failback-plan`,
    )
  }
  const endpoints = new Map(sites.map((s) => [s.db.endpoint, s]))
  for (const site of sites) {
    if (site.db.alsoFound.length) {
      warnings.push(
        `${site.stack}: more than one instance matches (${[site.db.id, ...site.db.alsoFound].join(', ')}); pass --${site.stack}-db`,
      )
    }
    if (site.writer.value && !/:\d+$/.test(site.writer.value)) {
      warnings.push(
        `${site.stack}: writer parameter "${site.writer.value}" is not host:port; the service rejects it`,
      )
    }
    const target = site.writer.value ? endpoints.get(normalizeEndpoint(site.writer.value)) : undefined
    if (target && target.db.role === 'replica') {
      warnings.push(`${site.stack}: services write to ${site.writer.value}, which is a read replica`)
    }
    if (site.lag && site.lag.seconds === undefined)
      warnings.push(`${site.stack}: replica lag unknown (${site.lag.reason})`)
  }
  const writerValues = new Set(
    sites.flatMap((s) => (s.writer.value ? [normalizeEndpoint(s.writer.value)] : [])),
  )
  if (writerValues.size > 1)
    warnings.push(`regions write to different endpoints: ${[...writerValues].join(' vs ')}`)
  return warnings
}

/** Plain-text table of a status report, one row per region. */
export function renderStatus(report: StatusReport): string {
  const header = [
    'stack',
    'region',
    'db instance',
    'role',
    'db status',
    'lag',
    'health check',
    'writer endpoint (SSM)',
  ]
  const rows = report.sites.map((s) => [
    s.stack,
    s.region,
    s.db.id ?? '-',
    s.db.role === 'replica' ? `replica of ${shortId(s.db.sourceId)}` : s.db.role,
    [s.db.status ?? (s.db.error ? 'error' : '-'), s.db.replicationState].filter(Boolean).join(' / '),
    s.lag ? (s.lag.seconds !== undefined ? `${s.lag.seconds}s` : 'unknown') : '-',
    healthCell(s.health),
    s.writer.value ?? `? (${s.writer.error ?? 'unset'})`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  const lines = [
    `status at ${report.checkedAt}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ]
  for (const site of report.sites) {
    if (site.db.error) {
      lines.push(
        `${site.stack}: RDS ${site.db.role === 'denied' ? 'access denied' : 'unreachable'}: ${site.db.error}`,
      )
    }
    if (site.health.reason) lines.push(`${site.stack}: health check: ${site.health.reason}`)
  }
  lines.push(...report.warnings.map((w) => `WARNING ${w}`))
  return lines.join('\n')
}

function healthCell(health: HealthObservation): string {
  return health.state === 'unknown'
    ? 'unknown'
    : `${health.state} (${health.healthyCheckers}/${health.totalCheckers})`
}

/** `blueprint-us-east-db` from `arn:aws:rds:us-east-1:123:db:blueprint-us-east-db`. */
export function shortId(id: string | undefined): string {
  if (!id) return '?'
  const parts = id.split(':')
  return id.startsWith('arn:') ? `${parts.at(-1)} (${parts[3]})` : id
}
