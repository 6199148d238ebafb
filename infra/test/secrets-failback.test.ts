// Two DR drills within a week: each failback rebuild renames the database's secrets with the instance identifier
// (blueprint-us-east-db -> blueprint-us-east-db-replica, and back on the next drill). A secret deleted with a
// recovery window keeps its name reserved for that window, so the second rename back would fail halfway through
// the failback's `pulumi up` (model: infra/plan/checks/secrets.ts).
import { expect } from 'chai'
import { secretNameClashes } from '../plan/checks/secrets.js'
import { type Inventory, stackConfig } from '../plan/inventory.js'
import { stack } from './helpers.js'
import { add } from './model-fixtures.js'

const db = (changes: Record<string, unknown>) => {
  const current = JSON.parse(stackConfig('us-east')['blueprint:database'] ?? '{}') as Record<string, unknown>
  return { 'blueprint:database': JSON.stringify({ ...current, ...changes }) }
}
const asReplica = (identifier: string) =>
  db({ role: 'replica', sourceStack: 'organization/blueprint/eu-west', identifier, readReplicas: 0 })

/** us-east through two failbacks: rebuilt as a replica, switched back, rebuilt again under its first name. */
async function twoDrills() {
  return [
    (await stack('us-east')).inventory,
    (await stack('us-east', asReplica('blueprint-us-east-db-replica'))).inventory,
    (await stack('us-east', db({ identifier: 'blueprint-us-east-db-replica' }))).inventory,
    (await stack('us-east', asReplica('blueprint-us-east-db'))).inventory,
  ]
}

/** The identifier of the region's own DB instance (the Database component's writer or replica) in a run. */
const dbIdentifier = (inv: Inventory) =>
  String(
    inv.resources.find(
      (r) => r.type === 'aws:rds/instance:Instance' && r.urn.endsWith(`::${inv.project}-${inv.stack}-db`),
    )?.inputs.identifier,
  )

describe('secrets across two failbacks in a week', function () {
  this.timeout(180_000)

  it('the two drills rename the database (the sequence the check judges)', async () => {
    expect((await twoDrills()).map(dbIdentifier)).to.deep.equal([
      'blueprint-us-east-db',
      'blueprint-us-east-db-replica',
      'blueprint-us-east-db-replica',
      'blueprint-us-east-db',
    ])
  })

  it('recreates no secret name a deleted secret still reserves (a day between steps)', async () => {
    expect(secretNameClashes(await twoDrills(), 1)).to.deep.equal([])
  })

  it('fires on a secret named for the DB identifier that keeps a 7-day recovery window', async () => {
    const runs = structuredClone(await twoDrills())
    for (const inv of runs)
      add(inv, 'aws:secretsmanager/secret:Secret', 'blueprint-us-east-db-url', {
        name: `${dbIdentifier(inv)}/url`,
        recoveryWindowInDays: 7,
      })
    expect(secretNameClashes(runs, 1)).to.deep.equal([
      { run: 3, name: 'blueprint-us-east-db/url', recoveryWindowDays: 7, deletedInRun: 1 },
    ])
    // Deleted without recovery the name is free at once; a week and a day later it is free anyway.
    expect(secretNameClashes(runs, 8)).to.deep.equal([])
    for (const inv of runs)
      for (const r of inv.resources)
        if (r.name === 'blueprint-us-east-db-url') r.inputs.recoveryWindowInDays = 0
    expect(secretNameClashes(runs, 1)).to.deep.equal([])
  })
})
