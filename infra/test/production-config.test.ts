// The task definition meets the app: every variable the app's config loader needs in production
// is set (plain or from Secrets Manager), and the funding webhook's key arrives from a secret whose
// value the operator sets, never Pulumi.
import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { ConfigError, loadConfig } from '../../app/src/config.js'
import { ENV } from '../../app/src/contract.js'
import type { StackName } from '../src/config.js'
import { fundingWebhookSecretName, OPERATOR_SECRETS, operatorSecretName } from '../src/operator-secrets.js'
import {
  all,
  type ContainerDefinition,
  deployedEnv,
  fundingWebhookOn,
  idOf,
  json,
  list,
  one,
  serviceContainer,
  serviceFlagsOn,
  stack,
  statements,
} from './helpers.js'

const SECRET = 'aws:secretsmanager/secret:Secret'
const SECRET_VERSION = 'aws:secretsmanager/secretVersion:SecretVersion'

/** Why loadConfig refuses an environment, or undefined when it loads. */
function refusal(env: Record<string, string | undefined>): string | undefined {
  try {
    loadConfig(env)
    return undefined
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('; ')
    throw err
  }
}

for (const [name, region] of [
  ['us-east', 'us-east-1'],
  ['eu-west', 'eu-west-1'],
] as [StackName, string][]) {
  describe(`production configuration of the service (${name})`, () => {
    it('creates the funding webhook secret empty, encrypted with the stack key: its value is not in state', async () => {
      const { inventory } = await stack(name)
      const secret = one(inventory, SECRET, '-funding-webhook')
      expect(secret.inputs.name).to.equal(fundingWebhookSecretName(`blueprint-${name}`))
      expect(secret.inputs.name).to.equal(`blueprint-${name}/funding-webhook-secret`)
      // The key every other secret of the stack uses (the task's execution role may decrypt with it).
      expect(secret.inputs.kmsKeyId).to.equal(
        `arn:aws:kms:${region}:123456789012:key/${idOf(one(inventory, 'aws:kms/key:Key', `blueprint-${name}-key`))}`,
      )
      const versions = all(inventory, SECRET_VERSION, (v) => String(v.inputs.secretId).includes('funding'))
      expect(versions, 'a SecretVersion would put the value in Pulumi state').to.have.length(0)
    })

    it('references no secret without a value by default: a first deploy starts its tasks, the webhook is off', async () => {
      const app = await serviceContainer(name)
      expect((app.secrets ?? []).map((s) => s.name)).not.to.include(ENV.fundingWebhookSecret)
      const env = await deployedEnv(name)
      expect(refusal(env)).to.equal(undefined)
      expect(loadConfig(env).funding.webhookSecret, 'webhook off').to.equal(undefined)
    })

    it('hands the key to the service container only, from that secret', async () => {
      const { inventory } = await stack(name, fundingWebhookOn(name))
      const app = await serviceContainer(name, fundingWebhookOn(name))
      const secrets = Object.fromEntries((app.secrets ?? []).map((s) => [s.name, s.valueFrom]))
      expect(secrets[ENV.fundingWebhookSecret]).to.match(
        new RegExp(
          `^arn:aws:secretsmanager:${region}:123456789012:secret:blueprint-${name}/funding-webhook-secret-`,
        ),
      )
      expect((app.environment ?? []).map((e) => e.name)).not.to.include(ENV.fundingWebhookSecret)
      const [migrate] = json<ContainerDefinition[]>(
        one(inventory, 'aws:ecs/taskDefinition:TaskDefinition', '-migrate'),
        'containerDefinitions',
      )
      expect((migrate?.secrets ?? []).map((s) => s.name)).not.to.include(ENV.fundingWebhookSecret)
    })

    it('lets the execution role read exactly that secret, by its full ARN', async () => {
      const { inventory } = await stack(name, fundingWebhookOn(name))
      const app = await serviceContainer(name, fundingWebhookOn(name))
      const arn = (app.secrets ?? []).find((s) => s.name === ENV.fundingWebhookSecret)?.valueFrom as string
      const reads = statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-execution')).filter((s) =>
        list(s.Action).includes('secretsmanager:GetSecretValue'),
      )
      const resources = reads.flatMap((s) => list(s.Resource))
      expect(resources).to.include(arn)
      expect(
        resources.every((r) => !r.includes('*')),
        resources.join(', '),
      ).to.equal(true)
      // No other role (the task role, CI, the collector) may read it.
      for (const policy of all(
        inventory,
        'aws:iam/rolePolicy:RolePolicy',
        (p) => !p.name.endsWith('-execution'),
      )) {
        expect(String(policy.inputs.policy), policy.name).not.to.include('funding-webhook-secret')
      }
    })

    it('loads with the app’s own config loader, with every production setting from the task definition', async () => {
      const env = await deployedEnv(name, fundingWebhookOn(name))
      expect(env.NODE_ENV).to.equal('production')
      expect(refusal(env)).to.equal(undefined)
      const config = loadConfig(env)
      // The settings whose defaults only suit a laptop.
      expect(config.funding.webhookSecret, 'funding webhook enabled').to.be.a('string')
      expect(config.mail).to.include({ transport: 'ses', sesRegion: region })
      expect(config.mail.appBaseUrl).to.match(/^https:\/\//)
      expect(config.session).to.include({ cookieSecure: true, cookieName: '__Host-sid' })
      expect(config.database.iamAuth).to.equal(true)
      expect(config.database.replicaUrls).to.have.length(1)
      expect(config.redis.cluster).to.equal(true)
      // ElastiCache IAM auth as the service's user, for its own region's replication group.
      expect(config.redis.iam).to.deep.equal({ replicationGroupId: `blueprint-${name}-redis`, region })
      expect(new URL(config.redis.url).username).to.equal(`blueprint-${name}-redis-service`)
      expect(config.s3).to.include({ region, bucket: `blueprint-${name}-uploads-123456789012` })
      expect(config.web.docsUi).to.equal(false)
      expect(config.trustProxy).to.not.equal(true)
    })

    it('seals TOTP seeds with the operator’s key once service.mfaEncryption is on, and says so until then', async () => {
      const { inventory } = await stack(name)
      const secret = one(inventory, SECRET, '-mfa-encryption-key')
      expect(secret.inputs.name).to.equal(operatorSecretName('mfaEncryption', `blueprint-${name}`))
      expect(all(inventory, SECRET_VERSION, (v) => String(v.inputs.secretId).includes('mfa'))).to.have.length(
        0,
      )

      // Off (a first deploy): no reference to the empty secret, and the unsealed storage is explicit.
      const off = await deployedEnv(name)
      expect(off[ENV.mfaEncryptionKey]).to.equal(undefined)
      expect(off[ENV.mfaEncryptionOptional]).to.equal('true')
      expect(refusal(off)).to.equal(undefined)

      // On: the key from its secret, for the service container only; no opt-out left.
      const flags = serviceFlagsOn(name, 'mfaEncryption')
      const app = await serviceContainer(name, flags)
      const arn = (app.secrets ?? []).find((s) => s.name === ENV.mfaEncryptionKey)?.valueFrom
      expect(arn).to.match(
        new RegExp(
          `^arn:aws:secretsmanager:${region}:123456789012:secret:blueprint-${name}/mfa-encryption-key-`,
        ),
      )
      const on = await deployedEnv(name, flags)
      expect(on[ENV.mfaEncryptionOptional]).to.equal(undefined)
      expect(refusal(on)).to.equal(undefined)
      expect(loadConfig(on).mfa.encryptionKeys.current, 'seeds sealed').to.not.equal(undefined)
      const reads = statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-execution'))
      expect(JSON.stringify(reads)).not.to.include('mfa-encryption-key')
    })

    it('would refuse to start without any of the variables the loader requires', async () => {
      const env = await deployedEnv(name, fundingWebhookOn(name))
      // What the loader demands (app/src/config.ts): each is set by the task definition.
      for (const required of [ENV.databaseUrl, ENV.redisUrl, 'SES_REGION']) {
        expect(env[required], required).to.be.a('string')
        expect(refusal({ ...env, [required]: undefined }), required).to.include(required)
      }
      // A key shorter than 32 characters is refused too: the operator's value must be the provider's full key.
      expect(refusal({ ...env, [ENV.fundingWebhookSecret]: 'short' })).to.include(ENV.fundingWebhookSecret)
    })
  })
}

describe('the deploy job checks every operator secret the stack config can turn on', () => {
  it('names each service.<flag> with its secret, as infra/src/operator-secrets.ts does', () => {
    const workflow = readFileSync(
      new URL('../../.github/workflows/deploy-stack.yml', import.meta.url),
      'utf8',
    )
    const pairs = /for pair in ([^;]+);/.exec(workflow)?.[1]?.trim().split(/\s+/) ?? []
    expect(pairs.sort()).to.deep.equal(
      Object.entries(OPERATOR_SECRETS)
        .map(([flag, spec]) => `${flag}:${spec.suffix}`)
        .sort(),
    )
  })
})
