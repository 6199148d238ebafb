// eu-west's DR path (promote, repoint, `pulumi up --stack eu-west`, deploy a new image there) must not need
// us-east-1. Regional resources in us-east-1 are the region-loss check's business (model-regions.test.ts); this is
// about global services, whose control planes live in us-east-1 (AWS Fault Isolation Boundaries: "Global
// services"): eu-west may own IAM roles and Route 53 records, created at bootstrap, but the DR path must neither
// write nor refresh them.
import { expect } from 'chai'
import { failbackPlan } from '../dr/failback.js'
import { promotionPulumiSteps } from '../dr/pulumi-steps.js'
import { buildTopology, siteOf } from '../dr/topology.js'
import { drPathCheck } from '../plan/checks/dr-path.js'
import { globalControlPlane, globalResources, globalWrites } from '../plan/checks/regions.js'
import { add, bothStacks, named } from './model-fixtures.js'

const topology = buildTopology()
const eu = siteOf(topology, 'eu-west')
const us = siteOf(topology, 'us-east')

/** `--target` URNs of every `pulumi refresh` line, and whether any refresh has none (a full refresh). */
function refreshes(lines: string[]) {
  const refresh = lines.filter((l) => /(^|\s)pulumi refresh\b/.test(l))
  return {
    count: refresh.length,
    full: refresh.filter((l) => !/--target\b/.test(l)),
    targets: refresh.flatMap((l) => [...l.matchAll(/--target '([^']+)'/g)].map((m) => m[1] as string)),
  }
}

describe('DR path of eu-west and the global control planes', function () {
  this.timeout(180_000)

  it('classifies resources by where their control plane lives', () => {
    const r = (type: string, inputs: Record<string, unknown> = {}) => globalControlPlane({ type, inputs })
    expect(r('aws:iam/role:Role')).to.equal('us-east-1')
    expect(r('aws:route53/record:Record')).to.equal('us-east-1')
    expect(r('aws:route53/healthCheck:HealthCheck')).to.equal('us-east-1')
    expect(r('aws:cloudfront/distribution:Distribution')).to.equal('us-east-1')
    expect(r('aws:wafv2/webAcl:WebAcl', { scope: 'CLOUDFRONT' })).to.equal('us-east-1')
    expect(r('aws:organizations/account:Account')).to.equal('us-east-1')
    expect(r('aws:globalaccelerator/accelerator:Accelerator')).to.equal('us-west-2')
    // Regional despite a global-looking module or a global sibling.
    expect(r('aws:wafv2/webAcl:WebAcl', { scope: 'REGIONAL' })).to.equal(undefined)
    expect(r('aws:route53/resolverEndpoint:ResolverEndpoint')).to.equal(undefined)
    expect(r('aws:acm/certificate:Certificate')).to.equal(undefined)
    expect(r('aws:rds/instance:Instance')).to.equal(undefined)
  })

  it('finds the IAM roles and Route 53 records and health check eu-west owns', async () => {
    const [, euInv] = await bothStacks()
    const types = new Set(globalResources(euInv).map((e) => e.type))
    expect([...types]).to.include.members([
      'aws:iam/role:Role',
      'aws:route53/record:Record',
      'aws:route53/healthCheck:HealthCheck',
    ])
    // Its WAF is the ALB's (REGIONAL): not a global resource.
    expect(types.has('aws:wafv2/webAcl:WebAcl')).to.equal(false)
  })

  it('prints no full refresh on the DR path, and refreshes only regional resources of the stack', async () => {
    const [usInv, euInv] = await bothStacks()
    const byStack = { 'us-east': usInv, 'eu-west': euInv }
    for (const [lines, site] of [
      [promotionPulumiSteps(topology, eu, us), eu],
      [failbackPlan(topology, eu), us],
    ] as const) {
      const r = refreshes(lines)
      expect(r.count, 'a refresh is printed (the DB must be refreshed after a promotion)').to.be.greaterThan(
        0,
      )
      expect(r.full, 'full refreshes').to.deep.equal([])
      const inv = byStack[site.stack as 'us-east' | 'eu-west']
      for (const urn of r.targets) {
        const target = inv.resources.find((x) => x.urn === urn)
        expect(target, `${urn} is a resource of ${site.stack}`).to.not.equal(undefined)
        expect(globalControlPlane(target as never), `${urn} is regional`).to.equal(undefined)
      }
      expect(r.targets.some((u) => u.includes('aws:rds/instance:Instance'))).to.equal(true)
    }
    const ups = [...promotionPulumiSteps(topology, eu, us), ...failbackPlan(topology, eu)].filter((l) =>
      /(^|\s)pulumi (up|preview) --stack/.test(l),
    )
    expect(ups.length).to.be.greaterThan(3)
    for (const l of ups) expect(l).to.include('--refresh=false')
  })

  it("eu-west's promotion and an image deploy write nothing in a global service", async () => {
    const [, euInv] = await bothStacks()
    const steps = await drPathCheck('eu-west', euInv)
    expect(steps.map((s) => s.operation.split(':')[0])).to.deep.equal(['promote', 'deploy a new image'])
    for (const s of steps) {
      expect(s.writes, s.operation).to.deep.equal([])
      expect(s.errors, s.operation).to.deep.equal([])
    }
  })

  it('fires on a promotion that would update a Route 53 record or create an IAM role', async () => {
    const [, before] = await bothStacks()
    const after = structuredClone(before)
    const record = named(after, 'aws:route53/record:Record', '-latency')
    record.inputs = { ...record.inputs, ttl: 5 }
    add(after, 'aws:iam/role:Role', 'eu-west-promoted-role', {})
    const writes = globalWrites(before, after).map((w) => [
      w.action,
      w.name,
      w.inputs.join(','),
      w.controlPlane,
    ])
    expect(writes).to.deep.equal([
      ['update', record.name, 'ttl', 'us-east-1'],
      ['create', 'eu-west-promoted-role', '', 'us-east-1'],
    ])
  })

  it('ignores inputs a resource keeps out of its diff (ignoreChanges)', async () => {
    const [, before] = await bothStacks()
    const after = structuredClone(before)
    const record = named(after, 'aws:route53/record:Record', '-latency')
    record.inputs = { ...record.inputs, ttl: 5 }
    record.options = { ...record.options, ignoreChanges: ['ttl'] }
    expect(globalWrites(before, after)).to.deep.equal([])
  })
})
