import { expect } from 'chai'
import { parseCommand } from '../args.js'
import { EXIT } from '../errors.js'
import { buildTopology, siteOf } from '../topology.js'
import { World } from './world.js'

describe('dr command line', () => {
  let world: World
  beforeEach(() => {
    world = new World()
  })
  afterEach(() => world.restore())

  for (const [argv, message] of [
    [['launch'], 'unknown subcommand "launch"'],
    [['promote'], 'promote needs --region <stack>'],
    [
      ['promote', '--region', 'eu-west', '--max-lag-seconds', 'ten'],
      '--max-lag-seconds must be a non-negative number',
    ],
    [['promote', '--region', 'ap-south'], 'unknown region "ap-south"; use one of: us-east, eu-west'],
    [['status', '--verbose'], "Unknown option '--verbose'"],
    [['status', '--hosted-zone-id', 'Z1'], 'needs both --hosted-zone-id and --writer-record'],
  ] as const) {
    it(`exits 2 without touching AWS for: ${argv.join(' ')}`, async () => {
      const code = await world.run(...argv)
      expect(code).to.equal(EXIT.usage)
      expect(world.err.join('\n')).to.include(message)
      expect(world.calls).to.deep.equal([])
    })
  }

  it('prints usage with exit 0 for --help', async () => {
    expect(await world.run('--help')).to.equal(EXIT.ok)
    expect(world.text).to.include('usage: npm run dr -- <status|promote|failback-plan|first-deploy>')
    expect(world.text).to.include('3 refused by preflight (nothing changed), 4 failed midway')
  })

  it('parses promote with its defaults', () => {
    expect(parseCommand(['promote', '--region', 'eu-west'])).to.deep.include({
      name: 'promote',
      region: 'eu-west',
      drill: false,
      force: false,
      maxLagSeconds: 60,
      hardenBeforeSwitch: false,
      pollSeconds: 15,
    })
  })
})

describe('dr topology (names shared with the Pulumi program and the service)', () => {
  it('derives the conventional names', () => {
    const topology = buildTopology()
    const us = siteOf(topology, 'us-east')
    const eu = siteOf(topology, 'eu-west')
    expect(us).to.deep.equal({
      stack: 'us-east',
      region: 'us-east-1',
      dbCandidates: ['blueprint-us-east-db', 'blueprint-us-east-db-replica'],
      writerParameter: '/blueprint/us-east/db/writer-endpoint',
    })
    expect(eu.region).to.equal('eu-west-1')
    expect(eu.dbCandidates).to.deep.equal(['blueprint-eu-west-db', 'blueprint-eu-west-db-replica'])
    expect(topology.writerRecord).to.equal(undefined)
  })

  it('lets every name be overridden from flags', () => {
    const command = parseCommand([
      'status',
      '--project',
      'acme',
      '--eu-west-db',
      'acme-db-eu',
      '--eu-west-region',
      'eu-central-1',
      '--us-east-writer-parameter',
      '/acme/writer',
      '--us-east-health-check',
      'hc-1',
      '--hosted-zone-id',
      'Z0EXAMPLE',
      '--writer-record',
      'writer.example.com',
    ])
    if (command.name !== 'status') throw new Error('expected status')
    const topology = buildTopology(command.topology)
    expect(siteOf(topology, 'eu-west')).to.deep.include({
      region: 'eu-central-1',
      dbCandidates: ['acme-db-eu'],
    })
    expect(siteOf(topology, 'eu-west').writerParameter).to.equal('/acme/eu-west/db/writer-endpoint')
    expect(siteOf(topology, 'us-east')).to.deep.include({
      writerParameter: '/acme/writer',
      healthCheckId: 'hc-1',
    })
    expect(topology.writerRecord).to.deep.equal({
      hostedZoneId: 'Z0EXAMPLE',
      name: 'writer.example.com',
      ttl: 30,
    })
  })

  it('looks a custom DB identifier up by exactly that name', async () => {
    const world = new World()
    try {
      world.instances['eu-west-1'] = { ...world.instances['eu-west-1'], DBInstanceIdentifier: 'acme-db-eu' }
      await world.run('status', '--eu-west-db', 'acme-db-eu')
      expect(world.text).to.match(/eu-west +eu-west-1 +acme-db-eu +replica of/)
    } finally {
      world.restore()
    }
  })
})
