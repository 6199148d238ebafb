import { expect } from 'chai'
import { buildInventory } from '../../plan/inventory.js'
import { estimate } from '../estimate.js'

/** The reference design's estimate and budget (issue 6), per month. */
const BUDGET = 50_000

describe('cost estimate: both stacks from their full inventories', () => {
  for (const stack of ['us-east', 'eu-west'] as const) {
    it(`prices every ${stack} resource with a standing charge and stays within the budget`, async function () {
      this.timeout(120_000)
      const e = estimate(await buildInventory(stack))
      const categories = new Set(e.lines.map((l) => l.category))
      expect([...categories]).to.include.members(['compute', 'network', 'database', 'cache', 'storage'])
      // The big fixed items the design names: Multi-AZ PostgreSQL and a 9-node Redis cluster.
      expect(e.lines.some((l) => /db\.r6g\.2xlarge x 730 h x 2 \(Multi-AZ\)/.test(l.detail))).to.equal(true)
      expect(e.lines.some((l) => /^9 x cache\./.test(l.detail))).to.equal(true)
      expect(e.total).to.be.greaterThan(1000).and.lessThan(BUDGET)
    })
  }
})
