import { expect } from 'chai'
import { EXIT } from '../errors.js'
import type { StatusReport } from '../status.js'
import { EU_HOST, US_HOST, World } from './world.js'

describe('dr status', () => {
  let world: World
  beforeEach(() => {
    world = new World()
  })
  afterEach(() => world.restore())

  it("shows each region's role, replica lag, health check and writer endpoint in a table", async () => {
    const code = await world.run('status')
    expect(code, world.text).to.equal(EXIT.ok)
    const [us, eu] = ['us-east ', 'eu-west '].map(
      (p) =>
        world.out
          .join('\n')
          .split('\n')
          .find((l) => l.startsWith(p)) ?? '',
    )
    expect(us).to.match(/us-east-1 +blueprint-us-east-db +primary +available +- +healthy \(16\/16\)/)
    expect(us).to.include(`${US_HOST}:5432`)
    expect(eu).to.match(
      /eu-west-1 +blueprint-eu-west-db-replica +replica of blueprint-us-east-db \(us-east-1\) +available \/ replicating +3s +healthy \(16\/16\)/,
    )
    expect(world.text).not.to.include('WARNING')
  })

  it('finds health checks by their project/stack tags, or uses the ids given as flags', async () => {
    world.healthyCheckers['hc-eu-0002'] = 2
    await world.run('status')
    expect(world.calls).to.include('ListHealthChecks global')
    expect(world.text).to.match(/eu-west .*unhealthy \(2\/16\)/)

    const flagged = new World()
    try {
      await flagged.run(
        'status',
        '--us-east-health-check',
        'hc-us-0001',
        '--eu-west-health-check',
        'hc-eu-0002',
      )
      expect(flagged.calls).not.to.include('ListHealthChecks global')
      expect(flagged.calls.filter((c) => c.startsWith('GetHealthCheckStatus'))).to.have.length(2)
    } finally {
      flagged.restore()
    }
  })

  it('--json prints the same facts machine-readably', async () => {
    await world.run('status', '--json')
    const report = JSON.parse(world.out.join('\n')) as StatusReport
    const [us, eu] = report.sites
    expect(us?.db.role).to.equal('primary')
    expect(eu?.db).to.include({
      role: 'replica',
      id: 'blueprint-eu-west-db-replica',
      endpoint: `${EU_HOST}:5432`,
    })
    expect(eu?.lag?.seconds).to.equal(3)
    expect(eu?.health).to.include({
      state: 'healthy',
      healthyCheckers: 16,
      totalCheckers: 16,
      id: 'hc-eu-0002',
    })
    expect(us?.writer.value).to.equal(`${US_HOST}:5432`)
  })

  it('still reports the EU side when the US region cannot be reached', async () => {
    world.unreachable.add('us-east-1')
    world.healthyCheckers['hc-us-0001'] = 0
    const code = await world.run('status')
    expect(code).to.equal(EXIT.ok)
    expect(world.text).to.match(/us-east +us-east-1 +- +unreachable +error/)
    expect(world.text).to.include(
      'us-east: RDS unreachable: Error: getaddrinfo ENOTFOUND rds.us-east-1.amazonaws.com',
    )
    expect(world.text).to.match(/eu-west .*replica of .* 3s +healthy/)
  })

  it('warns about two writers and regions writing to different endpoints after a half-done failover', async () => {
    world.instances['eu-west-1'] = {
      ...world.instances['eu-west-1'],
      ReadReplicaSourceDBInstanceIdentifier: undefined,
    }
    world.parameters['eu-west-1']['/blueprint/eu-west/db/writer-endpoint'] = `${EU_HOST}:5432`
    await world.run('status')
    expect(world.text).to.match(
      /WARNING two standalone writers \(blueprint-us-east-db, blueprint-eu-west-db-replica\)/,
    )
    expect(world.text).to.include(
      `WARNING regions write to different endpoints: ${US_HOST}:5432 vs ${EU_HOST}:5432`,
    )
  })

  it('flags a bare host in a writer parameter (the service only accepts host:port), but still matches it', async () => {
    world.parameters['eu-west-1']['/blueprint/eu-west/db/writer-endpoint'] = US_HOST
    await world.run('status')
    const warnings = world.text.split('\n').filter((l) => l.startsWith('WARNING'))
    expect(warnings).to.deep.equal([
      `WARNING eu-west: writer parameter "${US_HOST}" is not host:port; the service rejects it`,
    ])
  })

  it('warns when services write to a read replica', async () => {
    world.parameters['us-east-1']['/blueprint/us-east/db/writer-endpoint'] = `${EU_HOST}:5432`
    await world.run('status')
    expect(world.text).to.include(
      `WARNING us-east: services write to ${EU_HOST}:5432, which is a read replica`,
    )
  })

  it('marks stale lag as unknown rather than trusting an old point', async () => {
    world.lagSilentMs = 6 * 60_000
    await world.run('status')
    expect(world.text).to.match(/eu-west .* unknown /)
    expect(world.text).to.match(
      /WARNING eu-west: replica lag unknown \(newest ReplicaLag point is 7 min old\)/,
    )
  })
})
