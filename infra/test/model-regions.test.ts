import { expect } from 'chai'
import { foreignRegion } from '../plan/checks/regions.js'
import { add, bothStacks } from './model-fixtures.js'

describe('offline model: region loss', () => {
  // Fails while eu-west creates its alarm topic, key and health alarm in us-east-1 (infra-fixes moves them).
  it('the DR region (eu-west) lists no resource or provider in another region', async () => {
    const [, eu] = await bothStacks()
    expect(foreignRegion(eu)).to.deep.equal([])
  })

  it('lists an explicit provider in another region and every resource that uses it', async () => {
    const [, eu] = await bothStacks()
    const provider = add(eu, 'pulumi:providers:aws', 'eu-west-aws-us-east-1', { region: 'us-east-1' })
    add(eu, 'aws:sns/topic:Topic', 'global-alarms', {}).provider = `${provider.urn}::some-id`
    const listed = foreignRegion(eu).filter(
      (e) => e.name === 'eu-west-aws-us-east-1' || e.name === 'global-alarms',
    )
    expect(listed).to.deep.equal([
      {
        stack: 'eu-west',
        type: 'pulumi:providers:aws',
        name: 'eu-west-aws-us-east-1',
        region: 'us-east-1',
        via: 'provider',
      },
      {
        stack: 'eu-west',
        type: 'aws:sns/topic:Topic',
        name: 'global-alarms',
        region: 'us-east-1',
        via: 'resource via eu-west-aws-us-east-1',
      },
    ])
  })

  it('lists a resource whose own region argument names another region', async () => {
    const [, eu] = await bothStacks()
    add(eu, 'aws:kms/key:Key', 'key-elsewhere', { region: 'us-east-1' })
    add(eu, 'aws:kms/key:Key', 'key-here', { region: 'eu-west-1' })
    expect(
      foreignRegion(eu)
        .filter((e) => e.name.startsWith('key-'))
        .map((e) => [e.name, e.via]),
    ).to.deep.equal([['key-elsewhere', 'region argument']])
  })

  it('does not list us-east resources in us-east-1', async () => {
    const [us] = await bothStacks()
    expect(foreignRegion(us).filter((e) => e.region === 'us-east-1')).to.deep.equal([])
  })
})
