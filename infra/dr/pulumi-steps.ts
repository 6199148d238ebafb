import { stackUrns } from '../../app/src/contract.js'
import { CONFIG_KEYS, type Site, type Topology } from './topology.js'

/** `pulumi config set --path` for one of the project's structured keys. */
export function configSet(topology: Topology, site: Site, key: string, value: string): string {
  return `pulumi config set --stack ${site.stack} --path ${topology.project}:${key} ${value}`
}

/**
 * URNs a promotion changed behind Pulumi's back, both regional: the DB instance (no longer a replica) and the writer
 * parameter (rewritten by the command). The DB must be refreshed: the provider promotes in place when
 * `replicateSourceDb` leaves the program, so with a stale state the next up would call PromoteReadReplica on an
 * instance that is already standalone, which RDS refuses.
 */
export function promotionRefreshTargets(topology: Topology, site: Site): string[] {
  return [
    stackUrns.database(topology.project, site.stack),
    stackUrns.writerParameter(topology.project, site.stack),
  ]
}

/**
 * `pulumi refresh` of only those URNs. Not a full refresh: that reads every resource, IAM roles, Route 53 records
 * and health checks included, and their APIs (control planes) are served from us-east-1, so during a us-east-1
 * outage the refresh fails and the DR path with it.
 */
export function targetedRefresh(topology: Topology, site: Site): string {
  const targets = promotionRefreshTargets(topology, site).map((u) => `--target '${u}'`)
  return `pulumi refresh --stack ${site.stack} --yes --skip-preview ${targets.join(' ')}`
}

// `--refresh=false` on every preview and up of the DR path, in case the stack or the environment turns refresh on
// (PULUMI_REFRESH / autoRefresh): a full refresh is the one step that would read the global control planes.
const NO_REFRESH = '--refresh=false'

/** Commands that make the promoted stack's config say what AWS now is (one apply suffices there). */
export function promotionPulumiSteps(topology: Topology, promoted: Site, old: Site): string[] {
  const s = promoted.stack
  return [
    `# ${s}: the replica is now a standalone primary; bring its stack in line (one apply, ~5-10 min)`,
    '# refresh only the DB and the writer parameter: regional APIs; a full refresh also reads IAM and Route 53,',
    '# whose APIs live in us-east-1',
    targetedRefresh(topology, promoted),
    configSet(topology, promoted, CONFIG_KEYS.databaseRole, 'primary'),
    `# keep ${topology.project}:${CONFIG_KEYS.sourceStack}: it tells the program the instance was born a replica`,
    '# (no master username to set), so the DB is updated in place, not replaced',
    `${upCommand(promoted, true)}   # expect an in-place update of the DB, never a replace; no IAM or Route 53 change`,
    upCommand(promoted),
    `# ${old.stack}: do not run pulumi up there until it is rebuilt: as a primary stack it writes its own`,
    `# DB address back into ${old.writerParameter}. Rebuild and switch back with:`,
    `npm run dr -- failback-plan --region ${s}`,
  ]
}

/** `pulumi preview`/`pulumi up` of a DR or failback step: never a full refresh (see targetedRefresh). */
export function upCommand(site: Site, preview = false): string {
  return preview
    ? `pulumi preview --stack ${site.stack} ${NO_REFRESH} --diff`
    : `pulumi up --stack ${site.stack} ${NO_REFRESH} --yes`
}
