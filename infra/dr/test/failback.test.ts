import { expect } from 'chai'
import { EXIT } from '../errors.js'
import { World } from './world.js'

describe('dr failback-plan', () => {
  let world: World
  beforeEach(() => {
    world = new World()
  })
  afterEach(() => world.restore())

  it('rebuilds us-east as a replica of eu-west in two applies, then switches back', async () => {
    const code = await world.run('failback-plan')
    expect(code).to.equal(EXIT.ok)
    const text = world.text
    const order = [
      'aws rds create-db-snapshot --region us-east-1',
      'pulumi config set --stack us-east blueprint:databaseDeletionProtection false',
      'pulumi state unprotect --stack us-east',
      'pulumi up --stack us-east --yes',
      'pulumi config set --stack us-east blueprint:databaseRole replica',
      'pulumi config set --stack us-east blueprint:replicaSourceStack eu-west',
      'create blueprint-us-east-db-replica',
      'pulumi config set --stack us-east blueprint:databaseDeletionProtection true',
      'npm run dr -- promote --region us-east --drill',
      'pulumi config set --stack us-east blueprint:databaseRole primary',
      'pulumi config set --stack eu-west blueprint:databaseRole replica',
      'pulumi config set --stack eu-west blueprint:replicaSourceStack us-east',
    ]
    let at = -1
    for (const needle of order) {
      const next = text.indexOf(needle, at + 1)
      expect(next, `"${needle}" after position ${at}`).to.be.greaterThan(at)
      at = next
    }
  })

  it('needs no AWS access', async () => {
    await world.run('failback-plan')
    expect(world.calls).to.deep.equal([])
  })

  it('plans the other direction when us-east is the current writer, with the project name applied', async () => {
    await world.run('failback-plan', '--region', 'us-east', '--project', 'acme')
    expect(world.text).to.include(
      'Failback plan: us-east (us-east-1) is the writer; return it to eu-west (eu-west-1).',
    )
    expect(world.text).to.include('pulumi config set --stack eu-west acme:replicaSourceStack us-east')
    expect(world.text).to.include('npm run dr -- promote --region eu-west --drill')
    expect(world.text).to.include('/acme/eu-west/db/writer-endpoint')
  })
})
