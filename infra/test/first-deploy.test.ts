import { expect } from 'chai'
import { type ConfigChange, firstDeploySteps } from '../dr/first-deploy.js'
import { buildTopology } from '../dr/topology.js'
import { configSet, type StackConfigMap } from '../plan/checks/converge.js'
import { harmful, replacements } from '../plan/checks/replacement.js'
import { buildStack, type Inventory, PROJECT, stackConfig } from '../plan/inventory.js'
import type { StackName } from '../src/config.js'

const topology = buildTopology()
const steps = firstDeploySteps(topology)

/** A step's `pulumi config set|rm --path` applied to a config map, as the CLI would. */
function apply(config: StackConfigMap, changes: ConfigChange[]): StackConfigMap {
  let next = config
  for (const { key, value } of changes) {
    const full = `${PROJECT}:${key}`
    if (value !== null) {
      next = configSet(next, full, value, true)
      continue
    }
    const [section, field] = full.split('.') as [string, string]
    const obj = JSON.parse(next[section] ?? '{}') as Record<string, unknown>
    delete obj[field]
    next = { ...next, [section]: JSON.stringify(obj) }
  }
  return next
}

const STATEFUL = [
  'aws:rds/instance:Instance',
  'aws:s3/bucket:Bucket',
  'aws:elasticache/replicationGroup:ReplicationGroup',
  'aws:kms/key:Key',
]
const statefulReplaced = (before: Inventory, after: Inventory) =>
  replacements(before, after)
    .filter((c) => c.action !== 'create' && STATEFUL.includes(c.type))
    .map((c) => `${c.action} ${c.name}: ${c.inputs.join(', ')}`)

describe('first-deploy steps, applied to the stack files in memory', () => {
  // Each stack's config as the steps leave it, and the run after each apply.
  const config: Record<string, StackConfigMap> = { 'us-east': {}, 'eu-west': stackConfig('eu-west') }
  const runs: Partial<Record<StackName, Inventory>> = {}

  for (const step of steps.filter((s) => s.config.length)) {
    it(`step ${step.id} (${step.stack}): the program accepts the config it sets, and replaces nothing stateful`, async () => {
      const name = step.stack as StackName
      const base = Object.keys(config[name] ?? {}).length
        ? (config[name] as StackConfigMap)
        : stackConfig(name)
      const next = apply(base, step.config)
      config[name] = next
      // buildStack fails on a config error and on what the real provider refuses.
      const { inventory } = await buildStack(name, { config: next })
      const before = runs[name]
      if (before) expect(statefulReplaced(before, inventory)).to.deep.equal([])
      if (before) expect(harmful(replacements(before, inventory)).map((c) => c.error)).to.deep.equal([])
      runs[name] = inventory
    })
  }

  it('step 1 leaves out what does not exist yet: no reader, no replication to eu-west, no peering accepted', async () => {
    const first = steps[0]
    expect(first?.id).to.equal(1)
    const { inventory } = await buildStack('us-east', {
      config: apply(stackConfig('us-east'), first?.config ?? []),
    })
    const types = inventory.resources.map((r) => r.type)
    expect(inventory.resources.filter((r) => r.type === 'aws:rds/instance:Instance')).to.have.length(1)
    expect(types).to.not.include('aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter')
    expect(types).to.not.include('aws:s3/bucketReplicationConfig:BucketReplicationConfig')
    // The committed file has all three (so the assertions above can fail).
    const full = (await buildStack('us-east')).inventory.resources.map((r) => r.type)
    expect(full).to.include.members([
      'aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter',
      'aws:s3/bucketReplicationConfig:BucketReplicationConfig',
    ])
  })

  it('ends at the committed stack files (the steps converge to what main holds)', () => {
    const committed = (name: StackName) =>
      Object.fromEntries(
        Object.entries(stackConfig(name)).map(([k, v]) => [k, JSON.parse(JSON.stringify(v))]),
      )
    const normal = (c: StackConfigMap) =>
      Object.fromEntries(
        Object.entries(c).map(([k, v]) => {
          try {
            return [k, JSON.stringify(JSON.parse(v), (_, x) => (typeof x === 'number' ? String(x) : x))]
          } catch {
            return [k, v]
          }
        }),
      )
    for (const name of ['us-east', 'eu-west'] as StackName[]) {
      expect(normal(config[name] as StackConfigMap), name).to.deep.equal(normal(committed(name)))
    }
  })
})
