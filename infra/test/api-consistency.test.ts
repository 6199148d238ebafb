// The edge of a region must agree with the service behind it: what the ALB forwards, and what its WAF lets
// through, read from the service's own code and config defaults rather than restated here.
import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { loadConfig } from '../../app/src/config.js'
import { API_PATH_PREFIX, HEALTH_READY_PATH } from '../../app/src/contract.js'
import { WAF_BODY_INSPECTION_BYTES } from '../src/wafRules.js'
import { all, one, stack } from './helpers.js'

/** Prefixes the service registers its route plugins under (app/src/app.ts). */
const servicePrefixes = [...readFileSync('app/src/app.ts', 'utf8').matchAll(/prefix: '([^']+)'/g)].map(
  (m) => m[1] as string,
)
/** The service's defaults, as a production task (which sets neither variable) runs it. */
const appDefaults = loadConfig({
  DATABASE_URL: 'postgresql://u:p@db.internal:5432/app',
  REDIS_URL: 'redis://cache.internal:6379',
})

interface ManagedRule {
  statement: {
    managedRuleGroupStatement?: {
      name: string
      ruleActionOverrides?: { name: string; actionToUse: Record<string, unknown> }[]
    }
  }
}

describe('the ALB and its WAF agree with the service (us-east and eu-west)', () => {
  it('reads the service routes from app.ts (the check below is not vacuous)', () => {
    expect(servicePrefixes).to.include('/health')
    // The readiness path of the contract is a route the service really has (/health + /ready).
    const health = readFileSync('app/src/features/health/routes.ts', 'utf8')
    expect(HEALTH_READY_PATH).to.equal('/health/ready')
    expect(health).to.include("'/ready'")
    expect(servicePrefixes.filter((p) => p.startsWith(API_PATH_PREFIX)).length).to.be.greaterThan(3)
  })

  for (const name of ['us-east', 'eu-west'] as const) {
    it(`${name}: every forwarded path pattern reaches routes the service has, and every API route is forwarded`, async () => {
      const { inventory } = await stack(name)
      const patterns = all(inventory, 'aws:lb/listenerRule:ListenerRule').flatMap((r) =>
        (r.inputs.conditions as { pathPattern: { values: string[] } }[]).flatMap((c) => c.pathPattern.values),
      )
      const covers = (pattern: string, path: string) =>
        pattern.endsWith('/*')
          ? path === pattern.slice(0, -2) || path.startsWith(pattern.slice(0, -1))
          : path === pattern
      for (const pattern of patterns) {
        const reached = [...servicePrefixes.map((p) => `${p}/x`), HEALTH_READY_PATH].some((p) =>
          covers(pattern, p),
        )
        expect(reached, `${pattern} forwards to a service with no such route`).to.equal(true)
      }
      for (const prefix of servicePrefixes.filter((p) => p !== '/health')) {
        expect(
          patterns.some((p) => covers(p, `${prefix}/x`)),
          `${prefix} is not forwarded`,
        ).to.equal(true)
      }
    })

    it(`${name}: the WAF blocks no body the service accepts (SizeRestrictions_BODY only counts)`, async () => {
      const { inventory } = await stack(name)
      const rules = one(inventory, 'aws:wafv2/webAcl:WebAcl', `blueprint-${name}-waf`).inputs
        .rules as ManagedRule[]
      const common = rules.find(
        (r) => r.statement.managedRuleGroupStatement?.name === 'AWSManagedRulesCommonRuleSet',
      )
      const overrides = common?.statement.managedRuleGroupStatement?.ruleActionOverrides ?? []
      const bodyRule = overrides.find((o) => o.name === 'SizeRestrictions_BODY')
      // The service takes bodies above what the ALB's WAF can inspect, so the WAF must not block on size.
      expect(appDefaults.bodyLimitBytes).to.be.greaterThan(WAF_BODY_INSPECTION_BYTES)
      expect(appDefaults.preferencesMaxBytes).to.be.greaterThan(WAF_BODY_INSPECTION_BYTES)
      expect(bodyRule?.actionToUse).to.deep.equal({ count: {} })
    })
  }
})
