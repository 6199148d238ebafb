import type { Context } from './context.js'
import { type SiteStatus, shortId, siteStatus } from './status.js'
import { peerOf, type Site } from './topology.js'

/** Operator choices that loosen preflight. */
export interface PreflightOptions {
  /** The primary may be healthy: this is a rehearsal, and its services will be repointed too. */
  drill: boolean
  /** Promote even when replica lag is unknown or over the threshold (accepting data loss). */
  force: boolean
  /** Highest acceptable replica lag; roughly the data a promotion loses (RPO). */
  maxLagSeconds: number
}

/** One preflight verdict. */
export interface Check {
  name: string
  result: 'pass' | 'fail' | 'warn'
  detail: string
}

/** Preflight outcome: both sites as observed, and every check (all run, so the operator sees all). */
export interface Preflight {
  target: SiteStatus
  source: SiteStatus
  targetSite: Site
  sourceSite: Site
  checks: Check[]
  ok: boolean
}

/** Observes both sites and decides whether promoting `targetSite` is allowed. */
export async function preflight(
  ctx: Context,
  targetSite: Site,
  options: PreflightOptions,
): Promise<Preflight> {
  const sourceSite = peerOf(ctx.topology, targetSite)
  const [target, source] = await Promise.all([siteStatus(ctx, targetSite), siteStatus(ctx, sourceSite)])
  const checks = [
    replicaExists(target),
    replicaAvailable(target),
    lagAcceptable(target, options),
    primaryImpaired(source, options),
    writerParameterReadable(target, targetSite),
  ]
  if (source.writer.error) {
    checks.push({
      name: `${sourceSite.stack} writer parameter`,
      result: options.drill ? 'fail' : 'warn',
      detail: `cannot read ${sourceSite.writerParameter} in ${sourceSite.region} (${source.writer.error}); ${
        options.drill
          ? 'a drill must repoint both regions'
          : 'its services will need repointing when the region is back'
      }`,
    })
  }
  return { target, source, targetSite, sourceSite, checks, ok: checks.every((c) => c.result !== 'fail') }
}

function replicaExists(target: SiteStatus): Check {
  const name = 'replica exists'
  const { db } = target
  if (db.role === 'unreachable' || db.role === 'denied') {
    return { name, result: 'fail', detail: `cannot describe RDS in ${target.region}: ${db.error}` }
  }
  if (db.role === 'missing')
    return { name, result: 'fail', detail: `no DB instance in ${target.region} matches` }
  if (db.alsoFound.length) {
    return {
      name,
      result: 'fail',
      detail: `several instances match (${[db.id, ...db.alsoFound].join(', ')}); name one with --${target.stack}-db`,
    }
  }
  if (db.role !== 'replica')
    return { name, result: 'fail', detail: `${db.id} is already a standalone primary` }
  return { name, result: 'pass', detail: `${db.id} replicates from ${shortId(db.sourceId)}` }
}

function replicaAvailable(target: SiteStatus): Check {
  const name = 'replica available'
  const status = target.db.status
  if (status === 'available') return { name, result: 'pass', detail: `${target.db.id} is available` }
  // PromoteReadReplica is rejected (InvalidDBInstanceState) in any other state, e.g. backing-up or modifying.
  return {
    name,
    result: 'fail',
    detail: `${target.db.id ?? 'replica'} is "${status ?? 'unknown'}"; RDS only promotes an available replica, wait and retry`,
  }
}

function lagAcceptable(target: SiteStatus, options: PreflightOptions): Check {
  const name = 'replica lag'
  const seconds = target.lag?.seconds
  if (seconds === undefined) {
    const why = target.lag?.reason ?? 'not measured'
    return options.force
      ? {
          name,
          result: 'warn',
          detail: `unknown (${why}); --force: data written since the last replicated point is lost`,
        }
      : {
          name,
          result: 'fail',
          detail: `unknown (${why}); the loss cannot be bounded; rerun with --force to accept it`,
        }
  }
  if (seconds > options.maxLagSeconds) {
    return options.force
      ? {
          name,
          result: 'warn',
          detail: `${seconds}s > ${options.maxLagSeconds}s; --force: about ${seconds}s of writes may be lost`,
        }
      : {
          name,
          result: 'fail',
          detail: `${seconds}s > ${options.maxLagSeconds}s; wait for it to drop, raise --max-lag-seconds or use --force`,
        }
  }
  return { name, result: 'pass', detail: `${seconds}s <= ${options.maxLagSeconds}s` }
}

function primaryImpaired(source: SiteStatus, options: PreflightOptions): Check {
  const name = `${source.stack} primary impaired`
  if (source.db.role === 'denied' && !options.force) {
    // Missing permissions must not pass for a dead region: that is how split brain starts.
    return {
      name,
      result: 'fail',
      detail: `cannot tell: ${source.db.error}; fix access to ${source.region}, or use --force if you know it is down`,
    }
  }
  const dbUp = source.db.status === 'available'
  const health = source.health.state
  // Healthy = RDS answers "available" and the region's health check does not say otherwise. An unreachable
  // regional API or a failing health check is exactly what a real failover looks like.
  const looksHealthy = dbUp && health !== 'unhealthy'
  const evidence = `db ${source.db.id ?? '?'} ${source.db.status ?? source.db.role}, health check ${health}${
    source.health.totalCheckers
      ? ` (${source.health.healthyCheckers}/${source.health.totalCheckers} checkers ok)`
      : ''
  }`
  if (!looksHealthy) return { name, result: 'pass', detail: evidence }
  if (options.drill)
    return {
      name,
      result: 'warn',
      detail: `${evidence}; --drill: promoting anyway, both regions will be repointed`,
    }
  return {
    name,
    result: 'fail',
    detail: `${evidence}; the primary looks healthy: refusing (use --drill for a rehearsal)`,
  }
}

function writerParameterReadable(target: SiteStatus, site: Site): Check {
  const name = `${site.stack} writer parameter`
  if (target.writer.error) {
    return {
      name,
      result: 'fail',
      detail: `cannot read ${site.writerParameter}: ${target.writer.error}; the switch would fail`,
    }
  }
  return { name, result: 'pass', detail: `${site.writerParameter} = ${target.writer.value}` }
}

/** Checks as aligned lines for the log. */
export function renderChecks(checks: Check[]): string[] {
  const width = Math.max(...checks.map((c) => c.name.length))
  return checks.map((c) => `${c.result.toUpperCase().padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`)
}
