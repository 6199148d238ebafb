import { expect } from 'chai'
import { type Inventory, type InventoryResource, stackConfig } from '../plan/inventory.js'
import type { StackName } from '../src/config.js'
import { all, one, only, stack } from './helpers.js'

/** Resources whose loss loses data or breaks encryption of data. */
const STATEFUL = [
  'aws:rds/instance:Instance',
  'aws:s3/bucket:Bucket',
  'aws:elasticache/replicationGroup:ReplicationGroup',
  'aws:kms/key:Key',
]
// Replacing these on an RDS instance means a new, empty database.
const RDS_FORCE_NEW = [
  'identifier',
  'kmsKeyId',
  'storageEncrypted',
  'dbSubnetGroupName',
  'username',
  'dbName',
  'availabilityZone',
]
// A promoted replica keeps the password it inherited; setting one would reset it under the running service.
const RDS_INHERITED = ['password', 'username']

const stateful = (inv: Inventory) => inv.resources.filter((r) => STATEFUL.includes(r.type))
const byUrn = (rs: InventoryResource[]) => Object.fromEntries(rs.map((r) => [r.urn, r.inputs]))

/** Stack config section from the real stack file, with changes applied, as a config override. */
function withSection(name: StackName, section: string, changes: Record<string, unknown>) {
  const key = `blueprint:${section}`
  const current = JSON.parse(stackConfig(name)[key] ?? '{}') as Record<string, unknown>
  return { [key]: JSON.stringify({ ...current, ...changes }) }
}

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`stateful resources (${name})`, () => {
    it('protects the databases, buckets, cache and keys; retains databases, buckets and keys on delete', async () => {
      const { inventory } = await stack(name)
      const rs = stateful(inventory)
      expect(rs.length).to.be.greaterThan(5)
      for (const r of rs) {
        const isReadReplica = r.type === 'aws:rds/instance:Instance' && r.name.includes('-read-')
        if (isReadReplica) continue // a same-region reader is rebuilt from the writer, not restored
        expect(r.options?.protect, `${r.name} protect`).to.equal(true)
        if (r.type !== 'aws:elasticache/replicationGroup:ReplicationGroup') {
          expect(r.options?.retainOnDelete, `${r.name} retainOnDelete`).to.equal(true)
        }
      }
    })

    it('keeps every stateful resource identical when only the image changes', async () => {
      const before = (await stack(name)).inventory
      const after = (
        await stack(
          name,
          withSection(name, 'service', {
            image: `123456789012.dkr.ecr.${before.region}.amazonaws.com/blueprint-service:0.2.0`,
          }),
        )
      ).inventory
      expect(byUrn(stateful(after))).to.deep.equal(byUrn(stateful(before)))
      // The change did reach the program: the task definition moved to the new image.
      const image = (inv: Inventory) =>
        JSON.parse(
          String(one(inv, 'aws:ecs/taskDefinition:TaskDefinition', '-service').inputs.containerDefinitions),
        )[0].image
      expect(image(after)).to.match(/:0\.2\.0$/)
      expect(image(before)).to.match(/:0\.1\.0$/)
    })
  })
}

describe('promotion of eu-west (database role replica -> primary)', () => {
  const promoted = () => stack('eu-west', withSection('eu-west', 'database', { role: 'primary' }))

  it('keeps the same DB resource (same URN) with every replacement-forcing property unchanged', async () => {
    const before = only(all((await stack('eu-west')).inventory, 'aws:rds/instance:Instance'))
    const after = only(all((await promoted()).inventory, 'aws:rds/instance:Instance'))
    expect(after.urn).to.equal(before.urn)
    for (const key of RDS_FORCE_NEW) expect(after.inputs[key], key).to.deep.equal(before.inputs[key])
    for (const key of RDS_INHERITED) expect(after.inputs[key], key).to.equal(undefined)
    // Engine is inherited from the source while a replica; AWS reports "postgres", which is what promotion sets.
    expect(after.inputs.engine).to.equal('postgres')
    // Dropping replicateSourceDb is how the provider promotes in place.
    expect(before.inputs.replicateSourceDb).to.be.a('string')
    expect(after.inputs.replicateSourceDb).to.equal(undefined)
  })

  it('keeps buckets, cache and keys identical', async () => {
    const before = stateful((await stack('eu-west')).inventory).filter(
      (r) => r.type !== 'aws:rds/instance:Instance',
    )
    const after = stateful((await promoted()).inventory).filter((r) => r.type !== 'aws:rds/instance:Instance')
    expect(byUrn(after)).to.deep.equal(byUrn(before))
  })

  it('points the writer-endpoint parameter at its own instance once promoted', async () => {
    const { inventory } = await promoted()
    const param = one(inventory, 'aws:ssm/parameter:Parameter', 'writer-endpoint')
    expect(param.inputs.insecureValue).to.equal(
      'blueprint-eu-west-db-replica.c9akciq32.eu-west-1.rds.amazonaws.com:5432',
    )
    expect(
      all(inventory, 'aws:cloudwatch/metricAlarm:MetricAlarm', (a) => a.inputs.metricName === 'ReplicaLag'),
    ).to.deep.equal([])
  })
})
