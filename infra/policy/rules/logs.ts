// CloudWatch log groups: a retention (the default keeps logs, and their cost, forever) and a
// customer-managed KMS key, so access to log data follows the key policy.
import type * as aws from '@pulumi/aws'
import type { ResourceValidationPolicy } from '@pulumi/policy'
import type * as pulumi from '@pulumi/pulumi'
import { ofType, T } from '../resources.js'

type LogGroup = pulumi.Unwrap<aws.cloudwatch.LogGroupArgs>

/** Log groups expire their events. */
export const logGroupRetention: ResourceValidationPolicy = {
  name: 'log-group-retention',
  description: 'CloudWatch log groups set a retention period.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<LogGroup>([T.logGroup], (lg, args, report) => {
    if (!(Number(lg.retentionInDays ?? 0) > 0))
      report(`${args.name}: retentionInDays must be set (0 keeps logs forever)`)
  }),
}

/** Log groups are encrypted with a customer-managed KMS key. */
export const logGroupEncryption: ResourceValidationPolicy = {
  name: 'log-group-encryption-at-rest',
  description: 'CloudWatch log groups are encrypted with a customer-managed KMS key.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<LogGroup>([T.logGroup], (lg, args, report) => {
    if (!lg.kmsKeyId) report(`${args.name}: kmsKeyId must name a customer-managed KMS key`)
  }),
}
