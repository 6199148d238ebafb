import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

export interface KeysArgs {
  /** Alias without the `alias/` prefix; deterministic so the other region can name this key in replication rules. */
  alias: string
  /** Keep the key through `pulumi destroy` and refuse replacement. @default true */
  protect?: boolean
}

/**
 * The region's customer-managed KMS key for data at rest (RDS, Redis, S3, Secrets Manager, logs, SNS).
 * Every region has its own key: cross-region replicas and replicated objects are re-encrypted with it.
 */
export class Keys extends pulumi.ComponentResource {
  readonly keyArn: pulumi.Output<string>
  readonly keyId: pulumi.Output<string>
  readonly aliasArn: pulumi.Output<string>

  constructor(name: string, args: KeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:security:Keys', name, {}, opts)
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId
    const region = aws.getRegionOutput({}, { parent: this }).region
    const policy = pulumi.jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AccountAdministers',
          Effect: 'Allow',
          Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          // CloudWatch Logs encrypts log groups with the key only when the key policy names the service.
          Sid: 'LogsEncryptTheirGroups',
          Effect: 'Allow',
          Principal: { Service: pulumi.interpolate`logs.${region}.amazonaws.com` },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': pulumi.interpolate`arn:aws:logs:${region}:${account}:*`,
            },
          },
        },
        {
          // Alarms publish to the KMS-encrypted SNS topic.
          Sid: 'CloudWatchPublishesAlarms',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
        },
        {
          // CloudFront reads KMS-encrypted assets through Origin Access Control.
          Sid: 'CloudFrontReadsAssets',
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: ['kms:Decrypt'],
          Resource: '*',
          Condition: {
            StringLike: {
              'AWS:SourceArn': pulumi.interpolate`arn:aws:cloudfront::${account}:distribution/*`,
            },
          },
        },
      ],
    })
    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `${args.alias}: data at rest`,
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: 30,
        policy,
      },
      { parent: this, protect: args.protect ?? true, retainOnDelete: true },
    )
    const alias = new aws.kms.Alias(
      `${name}-alias`,
      { name: `alias/${args.alias}`, targetKeyId: key.keyId },
      { parent: this },
    )
    this.keyArn = key.arn
    this.keyId = key.keyId
    this.aliasArn = alias.arn
    this.registerOutputs({ keyArn: this.keyArn })
  }
}
