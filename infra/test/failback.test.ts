import { expect } from 'chai'
import { failbackPlan } from '../dr/failback.js'
import { buildTopology, siteOf } from '../dr/topology.js'
import { type Inventory, mockStackOutputs, stackConfig } from '../plan/inventory.js'
import type { StackName } from '../src/config.js'
import { all, one, only, stack } from './helpers.js'

const ORG = 'organization'
const topology = buildTopology({ pulumiOrg: ORG })
const plan = failbackPlan(topology, siteOf(topology, 'eu-west'))

/** Placeholders of the printed plan, filled in as an operator would. */
const FILL: Record<string, string> = {
  '<new identifier>': 'blueprint-us-east-db-replica',
  '<readers it ran before the failover>': '1',
}

/** The `pulumi config set` lines of the plan steps starting with `prefix`, for `stack`, as [key, value]. */
function configSteps(prefix: string, stackName: StackName, identifier?: string): [string, string][] {
  const start = plan.findIndex((l) => l.startsWith(prefix))
  const end = plan.findIndex((l, i) => i > start && /^[A-Z](\.\d)*\s/.test(l) && !l.startsWith(prefix))
  return plan
    .slice(start, end < 0 ? undefined : end)
    .map((l) => /pulumi config set --stack (\S+) --path blueprint:(\S+) (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === stackName)
    .map((m) => {
      const placeholder = Object.keys(FILL).find((k) => m.input.includes(k))
      const value = placeholder ? (FILL[placeholder] as string) : (m[3] as string)
      return [m[2] as string, m[2] === 'database.identifier' && identifier ? identifier : value]
    })
}

/** The stack file's config with `database.*` steps applied, as `pulumi config set --path` would. */
function applied(stackName: StackName, steps: [string, string][], base = stackConfig(stackName)) {
  const db = JSON.parse(base['blueprint:database'] ?? '{}') as Record<string, unknown>
  for (const [key, value] of steps) {
    const [section, field] = key.split('.')
    expect(section, key).to.equal('database')
    db[field as string] = /^\d+$/.test(value) ? Number(value) : value
  }
  return { ...base, 'blueprint:database': JSON.stringify(db) }
}

const STATEFUL_BUT_DB = [
  'aws:s3/bucket:Bucket',
  'aws:elasticache/replicationGroup:ReplicationGroup',
  'aws:kms/key:Key',
]
const kept = (inv: Inventory) =>
  Object.fromEntries(
    inv.resources.filter((r) => STATEFUL_BUT_DB.includes(r.type)).map((r) => [r.urn, r.inputs]),
  )

describe('failback plan, applied to the stack files (eu-west is the writer after a promotion)', () => {
  const rebuiltUs = applied('us-east', configSteps('A.3', 'us-east'))

  it('A.3: the program accepts us-east as a replica of eu-west (no config error)', async () => {
    const { inventory } = await stack('us-east', rebuiltUs)
    const db = only(all(inventory, 'aws:rds/instance:Instance'))
    expect(db.inputs.identifier).to.equal('blueprint-us-east-db-replica')
    expect(db.inputs.replicateSourceDb).to.equal(mockStackOutputs(`${ORG}/blueprint/eu-west`).dbArn)
  })

  it('A.3: replaces only the database; buckets, cache and keys stay identical', async () => {
    const before = (await stack('us-east')).inventory
    const after = (await stack('us-east', rebuiltUs)).inventory
    expect(kept(after)).to.deep.equal(kept(before))
    // Same URN: with the state unprotected (A.2) this is a replace, and retainOnDelete keeps the old instance.
    expect(one(after, 'aws:rds/instance:Instance', 'blueprint-us-east-db').urn).to.equal(
      one(before, 'aws:rds/instance:Instance', 'blueprint-us-east-db').urn,
    )
  })

  it('A.3: retains the old subnet and parameter groups (the retained old instance still uses them)', async () => {
    const { inventory } = await stack('us-east', rebuiltUs)
    for (const type of ['aws:rds/subnetGroup:SubnetGroup', 'aws:rds/parameterGroup:ParameterGroup']) {
      const group = one(inventory, type)
      expect(group.options?.retainOnDelete, type).to.equal(true)
      expect(String(group.inputs.name)).to.match(/^blueprint-us-east-db-replica-/)
    }
  })

  it('B.3: promoting us-east back keeps the rebuilt database in place (no config error, same identifier)', async () => {
    const home = applied('us-east', configSteps('B.3', 'us-east'), rebuiltUs)
    const { inventory } = await stack('us-east', home)
    const dbs = all(inventory, 'aws:rds/instance:Instance')
    const writer = one(inventory, 'aws:rds/instance:Instance', 'blueprint-us-east-db')
    expect(writer.inputs.identifier).to.equal('blueprint-us-east-db-replica')
    expect(writer.inputs.replicateSourceDb).to.equal(undefined)
    // Readers come back as configured, without deletion protection so the next failback can remove them.
    expect(dbs).to.have.length(2)
    const reader = one(inventory, 'aws:rds/instance:Instance', '-read-1')
    expect(reader.inputs.deletionProtection).to.equal(false)
  })

  it('B.4: the program accepts eu-west rebuilt as a replica of us-east', async () => {
    const steps = configSteps('B.4', 'eu-west', 'blueprint-eu-west-db')
    const { inventory } = await stack('eu-west', applied('eu-west', steps))
    const db = only(all(inventory, 'aws:rds/instance:Instance'))
    expect(db.inputs.identifier).to.equal('blueprint-eu-west-db')
    expect(db.inputs.replicateSourceDb).to.equal(mockStackOutputs(`${ORG}/blueprint/us-east`).dbArn)
  })
})
