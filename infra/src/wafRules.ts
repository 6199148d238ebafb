import type * as aws from '@pulumi/aws'

type Rule = aws.types.input.wafv2.WebAclRule

/** AWS managed rule groups every web ACL of this project runs, in priority order. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
] as const

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
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: group } },
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
