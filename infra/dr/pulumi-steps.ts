import { CONFIG_KEYS, type Site, type Topology } from './topology.js'

const key = (topology: Topology, name: string) => `${topology.project}:${name}`

/** Commands that make the promoted stack's config say what AWS now is (one apply suffices there). */
export function promotionPulumiSteps(topology: Topology, promoted: Site, old: Site): string[] {
  const s = promoted.stack
  return [
    `# ${s}: the replica is now a standalone primary; bring its stack in line (one apply, ~5 min)`,
    `pulumi refresh --stack ${s} --yes`,
    `pulumi config set --stack ${s} ${key(topology, CONFIG_KEYS.databaseRole)} primary`,
    `pulumi config rm --stack ${s} ${key(topology, CONFIG_KEYS.replicaSourceStack)}`,
    `pulumi preview --stack ${s} --diff   # expect an in-place update of the DB, never a replace`,
    `pulumi up --stack ${s} --yes`,
    `# ${old.stack}: leave its DB alone until the region is back; then rebuild it as a replica of ${s}.`,
    `# Replacing the old primary needs two applies (deletion protection off, then replace):`,
    `npm run dr -- failback-plan --region ${s}`,
  ]
}
