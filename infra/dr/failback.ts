import { CONFIG_KEYS, conventionalDbIds, peerOf, type Site, type Topology } from './topology.js'

const key = (topology: Topology, name: string) => `${topology.project}:${name}`

/** Steps that turn `stale` (an old primary) into a replica of `writer`, in two applies. */
function rebuildAsReplica(topology: Topology, stale: Site, writer: Site, label: string): string[] {
  const s = stale.stack
  const [oldPrimaryId, replicaId] = conventionalDbIds(topology.project, s)
  return [
    `${label}.1  Keep what only ${s} has (writes after the last replicated point), ~10-30 min:`,
    `      aws rds create-db-snapshot --region ${stale.region} --db-instance-identifier <${s} db, e.g. ${oldPrimaryId}> --db-snapshot-identifier ${oldPrimaryId}-before-rebuild-$(date -u +%Y%m%d%H%M)`,
    `      Compare it with ${writer.stack} and replay any rows that never reached it before going on.`,
    `${label}.2  Apply 1 on ${s}: RDS refuses to delete a deletion-protected instance and Pulumi a protected`,
    `      resource, so both come off in their own apply first (~2 min):`,
    `      pulumi config set --stack ${s} ${key(topology, CONFIG_KEYS.databaseDeletionProtection)} false`,
    `      pulumi stack --stack ${s} --show-urns | grep aws:rds/instance:Instance`,
    `      pulumi state unprotect --stack ${s} '<urn from the line above>'`,
    `      pulumi up --stack ${s} --yes`,
    `${label}.3  Apply 2 on ${s}: replace the old instance with a cross-region replica of ${writer.stack}`,
    `      (snapshot copy + catch-up: ~1-3 h for 1 TB):`,
    `      pulumi config set --stack ${s} ${key(topology, CONFIG_KEYS.databaseRole)} replica`,
    `      pulumi config set --stack ${s} ${key(topology, CONFIG_KEYS.replicaSourceStack)} ${writer.stack}`,
    `      pulumi preview --stack ${s} --diff   # expect: delete the old DB (final snapshot), create ${replicaId}`,
    `      pulumi up --stack ${s} --yes`,
    `      If the new identifier equals the old one, the DB must be replaced delete-before-create.`,
    `${label}.4  Protect it again (~2 min):`,
    `      pulumi config set --stack ${s} ${key(topology, CONFIG_KEYS.databaseDeletionProtection)} true`,
    `      pulumi up --stack ${s} --yes`,
    `      pulumi state protect --stack ${s} '<urn of the new aws:rds/instance:Instance>'`,
    `${label}.5  Verify: npm run dr -- status   # ${s} "replica of ${writer.stack}", lag under a minute,`,
    `      both writer parameters (${stale.writerParameter}, ${writer.writerParameter}) on the ${writer.stack} endpoint.`,
  ]
}

/** The failback plan after `current` became the writer: rebuild the other region, then switch back. */
export function failbackPlan(topology: Topology, current: Site): string[] {
  const home = peerOf(topology, current)
  return [
    `Failback plan: ${current.stack} (${current.region}) is the writer; return it to ${home.stack} (${home.region}).`,
    '',
    `A. Rebuild ${home.stack} as a replica of ${current.stack} (no user impact)`,
    `A.0  npm run dr -- status   # ${current.stack} must be the only standalone writer`,
    ...rebuildAsReplica(topology, home, current, 'A'),
    '',
    `B. Switch back in a maintenance window (writes pause for ~5-10 min)`,
    `B.1  For zero data loss, stop writes (maintenance mode) and wait until ${home.stack} lag is 0 in status.`,
    `B.2  npm run dr -- promote --region ${home.stack} --drill --max-lag-seconds 5`,
    `      (--drill because ${current.stack} is healthy; the command repoints both regions' writer parameters)`,
    `B.3  Bring ${home.stack}'s stack in line (printed by the promote command):`,
    `      pulumi refresh --stack ${home.stack} --yes`,
    `      pulumi config set --stack ${home.stack} ${key(topology, CONFIG_KEYS.databaseRole)} primary`,
    `      pulumi config rm --stack ${home.stack} ${key(topology, CONFIG_KEYS.replicaSourceStack)}`,
    `      pulumi up --stack ${home.stack} --yes`,
    `B.4  Rebuild ${current.stack} as a replica of ${home.stack}:`,
    ...rebuildAsReplica(topology, current, home, 'B.4'),
    `B.5  End maintenance; run the drill's verification (docs/runbooks/dr-drill.md, "Verify").`,
  ]
}
