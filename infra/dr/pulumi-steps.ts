import { CONFIG_KEYS, type Site, type Topology } from './topology.js'

/** `pulumi config set --path` for one of the project's structured keys. */
export function configSet(topology: Topology, site: Site, key: string, value: string): string {
  return `pulumi config set --stack ${site.stack} --path ${topology.project}:${key} ${value}`
}

/** Commands that make the promoted stack's config say what AWS now is (one apply suffices there). */
export function promotionPulumiSteps(topology: Topology, promoted: Site, old: Site): string[] {
  const s = promoted.stack
  return [
    `# ${s}: the replica is now a standalone primary; bring its stack in line (one apply, ~5-10 min)`,
    `pulumi refresh --stack ${s} --yes`,
    configSet(topology, promoted, CONFIG_KEYS.databaseRole, 'primary'),
    `# keep ${topology.project}:${CONFIG_KEYS.sourceStack}: it tells the program the instance was born a replica`,
    '# (no master username to set), so the DB is updated in place, not replaced',
    `pulumi preview --stack ${s} --diff   # expect an in-place update of the DB, never a replace`,
    `pulumi up --stack ${s} --yes`,
    `# ${old.stack}: do not run pulumi up there until it is rebuilt: as a primary stack it writes its own`,
    `# DB address back into ${old.writerParameter}. Rebuild and switch back with:`,
    `npm run dr -- failback-plan --region ${s}`,
  ]
}
