// Two DR drills within a week: each failback rebuild renames the database's secrets with the instance identifier
// (blueprint-us-east-db -> blueprint-us-east-db-replica, and back on the next drill). A secret deleted with a
// recovery window keeps its name reserved for that window, so the second rename back would fail halfway through
// the failback's `pulumi up` (model: infra/plan/checks/secrets.ts).
import { expect } from 'chai'
import { secretNameClashes } from '../plan/checks/secrets.js'
import { stackConfig } from '../plan/inventory.js'
import { stack } from './helpers.js'

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

describe('database secrets across two failbacks in a week', function () {
  this.timeout(180_000)

  it('the rebuilds rename the secrets (the check has something to judge)', async () => {
    const names = (await twoDrills()).map((inv) =>
      inv.resources
        .filter((r) => r.type === 'aws:secretsmanager/secret:Secret' && String(r.inputs.name).includes('-db'))
        .map((r) => r.inputs.name)
        .sort(),
    )
    expect(names[0]).to.include('blueprint-us-east-db/url')
    expect(names[1]).to.include('blueprint-us-east-db-replica/url')
    expect(names[3]).to.deep.equal(names[0])
  })

  it('recreates no secret name a deleted secret still reserves (a day between steps)', async () => {
    expect(secretNameClashes(await twoDrills(), 1)).to.deep.equal([])
  })

  it('fires when the renamed secrets keep a 7-day recovery window', async () => {
    const runs = structuredClone(await twoDrills())
    for (const inv of runs)
      for (const r of inv.resources)
        if (r.type === 'aws:secretsmanager/secret:Secret') r.inputs.recoveryWindowInDays = 7
    const clashes = secretNameClashes(runs, 1)
    expect(clashes.map((c) => c.name)).to.include('blueprint-us-east-db/url')
    expect(clashes.every((c) => c.run === 3 && c.deletedInRun === 1 && c.recoveryWindowDays === 7)).to.equal(
      true,
    )
    // A week and a day later the names are free again.
    expect(secretNameClashes(runs, 8)).to.deep.equal([])
  })
})
