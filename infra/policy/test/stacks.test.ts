import { expect } from 'chai'
import { buildInventory } from '../../plan/inventory.js'
import { withMockOutputs } from '../inventory.js'
import { T } from '../resources.js'
import { type PackInventory, runPolicies } from '../run.js'

const STACKS = ['us-east', 'eu-west'] as const

/** Types the guard rails inspect; each must occur, or "no violation" would prove nothing. */
const GUARDED = [
  T.bucket,
  T.bucketSse,
  T.bucketPab,
  T.bucketPolicy,
  T.rdsInstance,
  T.rdsParameterGroup,
  T.redisGroup,
  T.logGroup,
  T.securityGroup,
  T.loadBalancer,
  T.listener,
  T.webAclAssociation,
  T.ecsService,
]

const copy = (inv: PackInventory): PackInventory => structuredClone(inv)

for (const stack of STACKS) {
  describe(`policy pack: full ${stack} inventory`, () => {
    let inventory: PackInventory

    before(async function () {
      this.timeout(120_000)
      inventory = withMockOutputs(await buildInventory(stack))
    })

    it('contains every resource type the guard rails inspect', () => {
      const present = new Set(inventory.resources.map((r) => r.type))
      expect(GUARDED.filter((t) => !present.has(t))).to.deep.equal([])
    })

    it('passes every guard rail with zero violations', async () => {
      expect(await runPolicies(inventory)).to.deep.equal([])
    })

    it('still catches a removed WAF association (references resolve on real shapes)', async () => {
      const inv = copy(inventory)
      inv.resources = inv.resources.filter((r) => r.type !== T.webAclAssociation)
      const v = await runPolicies(inv)
      expect(v.map((x) => x.policy)).to.deep.equal(['alb-waf'])
    })

    it('still catches SSH opened to the world on the ALB security group', async () => {
      const inv = copy(inventory)
      const sg = inv.resources.find((r) => r.type === T.securityGroup && /alb/.test(r.name))
      if (!sg) throw new Error('no ALB security group in the inventory')
      const ingress = sg.inputs.ingress as unknown[]
      ingress.push({ protocol: 'tcp', fromPort: 22, toPort: 22, cidrBlocks: ['0.0.0.0/0'] })
      const v = await runPolicies(inv)
      expect(v.map((x) => x.policy)).to.deep.equal(['sg-no-open-ingress'])
    })

    it('still catches a resource that drops its provider (and so its default tags)', async () => {
      const inv = copy(inventory)
      const db = inv.resources.find((r) => r.type === T.rdsInstance)
      if (db) delete db.provider
      const v = await runPolicies(inv)
      expect(v.map((x) => x.policy)).to.deep.equal(['required-tags'])
    })
  })
}
