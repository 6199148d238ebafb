import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { buildInventory, type Inventory } from '../../plan/inventory.js'
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
    let raw: Inventory
    let inventory: PackInventory

    before(async function () {
      this.timeout(120_000)
      raw = await buildInventory(stack)
      inventory = withMockOutputs(raw)
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

    // The CLI loads the program's modules (~6 s a run): one stack is enough to prove it.
    if (stack !== 'us-east') return
    it('fails `npm run policy -- --inventory` on a saved inventory that breaks a rule', function () {
      this.timeout(60_000)
      const dir = mkdtempSync(join(tmpdir(), 'policy-'))
      try {
        const good = join(dir, 'good.json')
        const bad = join(dir, 'bad.json')
        writeFileSync(good, JSON.stringify(raw))
        const broken = { ...raw, resources: raw.resources.filter((r) => r.type !== T.webAclAssociation) }
        writeFileSync(bad, JSON.stringify(broken))
        const run = (file: string) =>
          spawnSync(process.execPath, ['--import=tsx', 'infra/policy/cli.ts', '--inventory', file], {
            encoding: 'utf8',
          })
        const ok = run(good)
        expect(ok.status, ok.stderr).to.equal(0)
        expect(ok.stdout).to.include('0 violation(s)')
        const failed = run(bad)
        expect(failed.status).to.equal(1)
        expect(failed.stdout).to.match(/^alb-waf: /m)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
