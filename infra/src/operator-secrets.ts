/**
 * Secrets whose value the operator sets out of band, so it is never in Pulumi state or a preview:
 * the program creates only the empty secret (no SecretVersion), the operator writes its value with
 * the AWS CLI (docs/infrastructure.md, "Secrets the operator sets"), and ECS injects it at task start.
 */
import * as aws from '@pulumi/aws'
import type * as pulumi from '@pulumi/pulumi'
import { ENV } from '../../app/src/contract.js'
import type { ContainerSecret } from './service.js'

/** Secrets Manager name of the funding webhook's HMAC key of a service (one per region stack). */
export const fundingWebhookSecretName = (clusterName: string) => `${clusterName}/funding-webhook-secret`

/**
 * The payment provider's webhook signing key, as the service container's FUNDING_WEBHOOK_SECRET.
 * The provider issues it (at least 32 characters, app/src/config.ts); until the operator puts a
 * value, ECS cannot start a task that references the secret.
 */
export function fundingWebhookSecret(
  name: string,
  args: { clusterName: string; kmsKeyArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): ContainerSecret {
  const secret = new aws.secretsmanager.Secret(
    `${name}-funding-webhook`,
    {
      name: fundingWebhookSecretName(args.clusterName),
      description:
        'HMAC-SHA256 key of the payment provider webhook (FUNDING_WEBHOOK_SECRET); set by the operator',
      kmsKeyId: args.kmsKeyArn,
      recoveryWindowInDays: 7,
    },
    opts,
  )
  return { name: ENV.fundingWebhookSecret, secretArn: secret.arn }
}
