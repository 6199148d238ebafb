import { configSet, targetedRefresh, upCommand } from './pulumi-steps.js'
import {
  CONFIG_KEYS,
  conventionalDbIds,
  peerOf,
  qualifiedStack,
  type Site,
  type Topology,
} from './topology.js'

/** Steps that turn `stale` (an old primary) into a replica of `writer`: state unprotect, one apply, cleanup. */
function rebuildAsReplica(topology: Topology, stale: Site, writer: Site, label: string): string[] {
  const s = stale.stack
  const [primaryName, replicaName] = conventionalDbIds(topology.project, s)
  return [
    `${label}.1  Keep what only ${s} has (writes after the last replicated point), ~10-30 min:`,
    `      aws rds create-db-snapshot --region ${stale.region} --db-instance-identifier <current ${s} id> --db-snapshot-identifier <current ${s} id>-before-rebuild-$(date -u +%Y%m%d%H%M)`,
    `      Compare it with ${writer.stack} and replay rows that never reached it before going on.`,
    `${label}.2  Unprotect the DB in ${s}'s state only (Pulumi refuses to replace a protected resource; this`,
    '      avoids an extra apply that, as a primary stack, would rewrite the writer parameter), ~1 min:',
    `      pulumi stack --stack ${s} --show-urns | grep 'aws:rds/instance:Instance'`,
    `      pulumi state unprotect --stack ${s} '<urn of the ${s} DB from the line above>'`,
    `${label}.3  Apply: replace it with a cross-region replica of ${writer.stack} (snapshot copy and catch-up,`,
    '      ~1-3 h for 1 TB). The old instance is retained in AWS (retainOnDelete), so the new one needs a',
    `      different identifier: ${replicaName} if the current one is ${primaryName}, else ${primaryName}.`,
    `      ${configSet(topology, stale, CONFIG_KEYS.databaseRole, 'replica')}`,
    `      ${configSet(topology, stale, CONFIG_KEYS.sourceStack, qualifiedStack(topology, writer))}`,
    `      ${configSet(topology, stale, CONFIG_KEYS.databaseIdentifier, '<new identifier>')}`,
    `      ${configSet(topology, stale, CONFIG_KEYS.readReplicas, '0')}   # its same-region readers go (no deletion protection)`,
    `      ${upCommand(stale, true)}   # expect: replace of the DB (and its readers, groups, secrets) only;`,
    `      # ${stale.writerParameter} keeps the ${writer.stack} address (the program never rewrites it)`,
    `      ${upCommand(stale)}`,
    `${label}.4  Verify: npm run dr -- status   # ${s} "replica of ${writer.stack}", lag under a minute, both writer`,
    `      parameters on the ${writer.stack} endpoint; status warns while the retained old instance still exists.`,
    `${label}.5  Remove the retained old instance once ${label}.1's reconciliation is done (RDS deletion protection`,
    '      is on, so it is turned off first), ~10 min:',
    `      aws rds modify-db-instance --region ${stale.region} --db-instance-identifier <old ${s} id> --no-deletion-protection --apply-immediately`,
    `      aws rds delete-db-instance --region ${stale.region} --db-instance-identifier <old ${s} id> --final-db-snapshot-identifier <old ${s} id>-final-$(date -u +%Y%m%d)`,
    `      aws rds wait db-instance-deleted --region ${stale.region} --db-instance-identifier <old ${s} id>`,
    '      # its subnet and parameter groups were retained for it (RDS refuses to delete a group in use):',
    `      aws rds delete-db-subnet-group --region ${stale.region} --db-subnet-group-name <old ${s} id>-subnets`,
    `      aws rds delete-db-parameter-group --region ${stale.region} --db-parameter-group-name <old ${s} id>-pg<major>`,
  ]
}

/** The failback plan after `current` became the writer: rebuild the other region, then switch back. */
export function failbackPlan(topology: Topology, current: Site): string[] {
  const home = peerOf(topology, current)
  return [
    `Failback plan: ${current.stack} (${current.region}) is the writer; return it to ${home.stack} (${home.region}).`,
    `Pulumi organisation in stack names: ${topology.pulumiOrg}${topology.pulumiOrg.startsWith('<') ? ' (set --pulumi-org to print it)' : ''}.`,
    '',
    `A. Rebuild ${home.stack} as a replica of ${current.stack} (no user impact)`,
    `A.0  npm run dr -- status   # ${current.stack} must be the only writer and both parameters point at it`,
    ...rebuildAsReplica(topology, home, current, 'A'),
    '',
    `B. Switch back in a maintenance window (writes pause for ~5-10 min)`,
    `B.1  For zero data loss, stop writes (maintenance mode) and wait until status shows ${home.stack} lag 0.`,
    `B.2  npm run dr -- promote --region ${home.stack} --drill --max-lag-seconds 5`,
    `      (--drill because ${current.stack} is healthy; both regions' writer parameters are repointed)`,
    `B.3  Bring ${home.stack}'s stack in line (the promote command prints the same):`,
    `      ${targetedRefresh(topology, home)}`,
    `      ${configSet(topology, home, CONFIG_KEYS.databaseRole, 'primary')}`,
    `      ${configSet(topology, home, CONFIG_KEYS.readReplicas, '<readers it ran before the failover>')}`,
    `      ${upCommand(home, true)}   # expect: an in-place update of the DB and its readers created, never a replace`,
    `      ${upCommand(home)}`,
    `B.4  Rebuild ${current.stack} as a replica of ${home.stack}:`,
    ...rebuildAsReplica(topology, current, home, 'B.4'),
    'B.5  End maintenance; run the verification in docs/runbooks/dr-drill.md ("Verify").',
  ]
}
