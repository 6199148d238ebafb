/**
 * Secrets whose value the operator sets out of band, so it is never in Pulumi state or a preview:
 * the program creates only the empty secret (no SecretVersion), the operator writes its value with
 * the AWS CLI (docs/infrastructure.md, "Secrets the operator sets"), and ECS injects it at task start.
 * Until it has a value, ECS cannot start a task that references it: each is referenced only once the
 * stack config says the operator has set it (`service.<flag>`), and the deploy job checks first.
 */
import * as aws from '@pulumi/aws'
import type * as pulumi from '@pulumi/pulumi'
import { ENV } from '../../app/src/contract.js'
import type { ContainerSecret } from './service.js'

/** What one operator secret is: its name under the cluster, its env name in the service, what it holds. */
interface OperatorSecret {
  /** `<cluster>/<suffix>` in Secrets Manager. */
  suffix: string
  /** Resource-name suffix (kept: it is part of the URN). */
  resource: string
  env: string
  description: string
}

/** The operator secrets, by the `service.*` config flag that turns each on. */
export const OPERATOR_SECRETS = {
  // The payment provider issues it (at least 32 characters, app/src/config.ts).
  fundingWebhook: {
    suffix: 'funding-webhook-secret',
    resource: 'funding-webhook',
    env: ENV.fundingWebhookSecret,
    description:
      'HMAC-SHA256 key of the payment provider webhook (FUNDING_WEBHOOK_SECRET); set by the operator',
  },
  // 32 random bytes, base64; the same value in both regions (the sealed seeds replicate with the database).
  mfaEncryption: {
    suffix: 'mfa-encryption-key',
    resource: 'mfa-encryption-key',
    env: ENV.mfaEncryptionKey,
    description:
      'AES-256-GCM key of the TOTP seeds at rest (MFA_ENCRYPTION_KEY, 32 bytes base64, same in both regions); set by the operator',
  },
} as const satisfies Record<string, OperatorSecret>

/** A `service.*` flag that turns an operator secret on. */
export type OperatorSecretFlag = keyof typeof OPERATOR_SECRETS

/** Secrets Manager name of an operator secret of a service (one per region stack). */
export const operatorSecretName = (flag: OperatorSecretFlag, clusterName: string) =>
  `${clusterName}/${OPERATOR_SECRETS[flag].suffix}`

/** Secrets Manager name of the funding webhook's HMAC key of a service. */
export const fundingWebhookSecretName = (clusterName: string) =>
  operatorSecretName('fundingWebhook', clusterName)

/** Creates the empty secret behind `flag`, as the service container's variable of the same meaning. */
export function operatorSecret(
  flag: OperatorSecretFlag,
  name: string,
  args: { clusterName: string; kmsKeyArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): ContainerSecret {
  const spec = OPERATOR_SECRETS[flag]
  const secret = new aws.secretsmanager.Secret(
    `${name}-${spec.resource}`,
    {
      name: operatorSecretName(flag, args.clusterName),
      description: spec.description,
      kmsKeyId: args.kmsKeyArn,
      recoveryWindowInDays: 7,
    },
    opts,
  )
  return { name: spec.env, secretArn: secret.arn }
}
