import type * as aws from '@pulumi/aws'

type Rule = aws.types.input.wafv2.WebAclRule

/** AWS managed rule groups every web ACL of this project runs, in priority order. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
] as const

/**
 * Bytes of a request body an ALB's WAF can inspect. The Common rule set's `SizeRestrictions_BODY` blocks every
 * body above it, far below what the API accepts (preferences documents up to 16 KiB, BODY_LIMIT_BYTES 1 MiB), so
 * that rule only counts here and the service enforces its own limits (413). The other rules still inspect the
 * first 8 KB of every body.
 */
export const WAF_BODY_INSPECTION_BYTES = 8192

/** Managed rules switched from block to count, each because it contradicts the API (see above). */
export const COUNTED_MANAGED_RULES: Partial<Record<(typeof MANAGED_RULE_GROUPS)[number], string[]>> = {
  AWSManagedRulesCommonRuleSet: ['SizeRestrictions_BODY'],
}

const visibility = (metricName: string) => ({
  cloudwatchMetricsEnabled: true,
  sampledRequestsEnabled: true,
  metricName,
})

/** Managed rule groups plus a per-IP rate-based block (limit counts requests per 5-minute window). */
export function webAclRules(prefix: string, rateLimit: number): Rule[] {
  const managed: Rule[] = MANAGED_RULE_GROUPS.map((group, i) => ({
    name: group,
    priority: i + 1,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name: group,
        ...(COUNTED_MANAGED_RULES[group]
          ? {
              ruleActionOverrides: COUNTED_MANAGED_RULES[group].map((rule) => ({
                name: rule,
                actionToUse: { count: {} },
              })),
            }
          : {}),
      },
    },
    visibilityConfig: visibility(`${prefix}-${group}`),
  }))
  return [
    {
      name: 'rate-limit-per-ip',
      priority: 0,
      action: { block: {} },
      statement: {
        rateBasedStatement: { limit: rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
      },
      visibilityConfig: visibility(`${prefix}-rate-limit`),
    },
    ...managed,
  ]
}

/** Visibility block for a web ACL itself. */
export const aclVisibility = visibility
