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
      'pulumi state unprotect --stack us-east',
      'pulumi config set --stack us-east --path blueprint:database.role replica',
      'pulumi config set --stack us-east --path blueprint:database.sourceStack <org>/blueprint/eu-west',
      'pulumi config set --stack us-east --path blueprint:database.identifier <new identifier>',
      'pulumi up --stack us-east --refresh=false --yes',
      'aws rds modify-db-instance --region us-east-1 --db-instance-identifier <old us-east id> --no-deletion-protection',
      'aws rds delete-db-instance --region us-east-1',
      'npm run dr -- promote --region us-east --drill',
      // Switching back refreshes only the promoted DB and its writer parameter (both regional).
      "pulumi refresh --stack us-east --yes --skip-preview --target 'urn:pulumi:us-east::blueprint::blueprint:database:Database$aws:rds/instance:Instance::blueprint-us-east-db'",
      'pulumi config set --stack us-east --path blueprint:database.role primary',
      // B.3 previews before it applies, like every other apply of the plan.
      'pulumi config set --stack us-east --path blueprint:database.readReplicas',
      'pulumi preview --stack us-east --refresh=false --diff',
      'pulumi up --stack us-east --refresh=false --yes',
      'pulumi config set --stack eu-west --path blueprint:database.role replica',
      'pulumi config set --stack eu-west --path blueprint:database.sourceStack <org>/blueprint/us-east',
    ]
    let at = -1
    for (const needle of order) {
      const next = text.indexOf(needle, at + 1)
      expect(next, `"${needle}" after position ${at}`).to.be.greaterThan(at)
      at = next
    }
  })

  it('previews every apply first, on the same stack with the same no-refresh flag', async () => {
    await world.run('failback-plan')
    const commands = world.text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^pulumi (preview|up) /.test(l))
    const ups = commands.flatMap((l, i) => (l.startsWith('pulumi up ') ? [i] : []))
    expect(ups.length, 'applies in the plan').to.be.greaterThan(2)
    for (const i of ups) {
      const stackOf = (l: string) => l.match(/--stack (\S+)/)?.[1]
      const previous = commands[i - 1] ?? '(none)'
      expect(previous, `the command before "${commands[i]}"`).to.match(/^pulumi preview .*--refresh=false/)
      expect(stackOf(previous)).to.equal(stackOf(commands[i] as string))
    }
  })

  it('needs no AWS access', async () => {
    await world.run('failback-plan')
    expect(world.calls).to.deep.equal([])
  })

  it('plans the other direction when us-east is the current writer, with the project name applied', async () => {
    await world.run('failback-plan', '--region', 'us-east', '--project', 'acme', '--pulumi-org', 'acme-corp')
    expect(world.text).to.include(
      'Failback plan: us-east (us-east-1) is the writer; return it to eu-west (eu-west-1).',
    )
    expect(world.text).to.include(
      'pulumi config set --stack eu-west --path acme:database.sourceStack acme-corp/acme/us-east',
    )
    expect(world.text).to.include('npm run dr -- promote --region eu-west --drill')
    expect(world.text).to.include('/acme/eu-west/db/writer-endpoint')
  })
})
