import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { EXIT } from '../errors.js'
import { firstDeployProgress, firstDeploySteps } from '../first-deploy.js'
import { buildTopology } from '../topology.js'
import { World } from './world.js'

const steps = firstDeploySteps(buildTopology())
const usFirst = { dbArn: 'arn:aws:rds:us-east-1:1:db:blueprint-us-east-db', dbReadReplicaIdentifiers: [] }

describe('dr first-deploy', () => {
  let world: World
  let dir: string
  beforeEach(() => {
    world = new World()
    dir = mkdtempSync(join(tmpdir(), 'first-deploy-'))
  })
  afterEach(() => {
    world.restore()
    rmSync(dir, { recursive: true, force: true })
  })

  it('prints the steps in the documented order, each apply after its preview, with no AWS call', async () => {
    expect(await world.run('first-deploy')).to.equal(EXIT.ok)
    const order = [
      'pulumi config set --stack us-east --path blueprint:database.readReplicas 0',
      'pulumi up --stack us-east',
      'scripts/ci/run-task.sh "$(pulumi stack output bootstrapTaskDefinitionArn --stack us-east)" bootstrap',
      'migration',
      '--no-manage-master-user-password',
      'pulumi config set --stack us-east --path blueprint:database.readReplicas 1',
      '--force-new-deployment',
      'pulumi config set --stack eu-west --path blueprint:network.peerVpcId "$(pulumi stack output vpcId --stack us-east)"',
      'pulumi up --stack eu-west',
      'blueprint:network.peeringConnectionId "$(pulumi stack output peeringConnectionId --stack eu-west)"',
    ]
    let at = -1
    for (const needle of order) {
      const next = world.text.indexOf(needle, at + 1)
      expect(next, `"${needle}" after position ${at}`).to.be.greaterThan(at)
      at = next
    }
    const commands = world.text.split('\n').map((l) => l.trim())
    for (const [i, l] of commands.entries())
      if (l.startsWith('pulumi up ')) expect(commands[i - 1], l).to.match(/^pulumi preview .*--refresh=false/)
    expect(world.calls).to.deep.equal([])
  })

  it('--check with no outputs saved: at step 1', async () => {
    await world.run('first-deploy', '--check', dir)
    expect(world.text).to.include('At step 1: us-east alone')
  })

  it('--check after the first apply: at step 2, and says outputs cannot show whether it ran', async () => {
    writeFileSync(join(dir, 'us-east.json'), JSON.stringify(usFirst))
    await world.run('first-deploy', '--check', dir)
    expect(world.text).to.include('[done] 1.')
    expect(world.text).to.include('At step 2: bootstrap the database roles')
    expect(world.text).to.include('Saved outputs cannot show whether it ran')
  })

  it('--check once the reader exists: steps 1-5 done (the release had to come first), restart next', () => {
    const progress = firstDeployProgress(steps, {
      'us-east': { ...usFirst, dbReadReplicaIdentifiers: ['blueprint-us-east-db-reader-1'] },
    })
    expect(progress.done).to.deep.equal([1, 2, 3, 4, 5])
    expect(progress.next?.id).to.equal(6)
  })

  it('--check with eu-west requested and us-east accepted: complete', async () => {
    writeFileSync(
      join(dir, 'us-east.json'),
      JSON.stringify({ ...usFirst, dbReadReplicaIdentifiers: ['r'], peeringConnectionId: 'pcx-1' }),
    )
    writeFileSync(join(dir, 'eu-west.json'), JSON.stringify({ dbArn: 'x', peeringConnectionId: 'pcx-1' }))
    await world.run('first-deploy', '--check', dir)
    expect(world.text).to.include('The first deploy is complete')
  })
})
