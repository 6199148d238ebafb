import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { MAIL_EVENT_TYPES } from '../src/mail.js'
import { all, hasProps, json, one, stack } from './helpers.js'

const T = {
  identity: 'aws:sesv2/emailIdentity:EmailIdentity',
  configSet: 'aws:sesv2/configurationSet:ConfigurationSet',
  destination: 'aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination',
  topic: 'aws:sns/topic:Topic',
  topicPolicy: 'aws:sns/topicPolicy:TopicPolicy',
  subscription: 'aws:sns/topicSubscription:TopicSubscription',
  queue: 'aws:sqs/queue:Queue',
  queuePolicy: 'aws:sqs/queuePolicy:QueuePolicy',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  record: 'aws:route53/record:Record',
  td: 'aws:ecs/taskDefinition:TaskDefinition',
}

interface Statement {
  Effect: string
  Action: string | string[]
  Resource: string | string[]
  Principal?: { Service: string }
  Condition?: Record<string, Record<string, string>>
}

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`mail (${name})`, () => {
    it('verifies the sending domain with 2048-bit Easy DKIM records in the zone', async () => {
      const { inventory } = await stack(name)
      const identity = one(inventory, T.identity)
      expect(identity.inputs.emailIdentity).to.match(/^[a-z0-9.-]+\.[a-z]+$/)
      hasProps(identity, { dkimSigningAttributes: { nextSigningKeyLength: 'RSA_2048_BIT' } })
      const dkim = all(inventory, T.record, (r) => r.name.includes('-dkim-'))
      expect(dkim).to.have.length(3)
      for (const r of dkim) {
        expect(r.inputs.type).to.equal('CNAME')
        expect(String(r.inputs.name)).to.match(/\._domainkey\./)
      }
    })

    it('suppresses bounced and complaining addresses and requires TLS', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, T.configSet), {
        suppressionOptions: { suppressedReasons: ['BOUNCE', 'COMPLAINT'] },
        deliveryOptions: { tlsPolicy: 'REQUIRE' },
      })
    })

    it('sends bounces and complaints to an SNS topic only SES of this configuration set may publish to, then to a queue', async () => {
      const { inventory } = await stack(name)
      const destination = one(inventory, T.destination)
      hasProps(destination, { eventDestination: { enabled: true, matchingEventTypes: MAIL_EVENT_TYPES } })
      const topic = one(inventory, T.topic, '-mail-events')
      const [publish] = json<{ Statement: Statement[] }>(
        one(inventory, T.topicPolicy, '-mail-events'),
        'policy',
      ).Statement
      expect(publish?.Principal).to.deep.equal({ Service: 'ses.amazonaws.com' })
      expect(publish?.Action).to.equal('sns:Publish')
      expect(publish?.Condition?.ArnLike?.['aws:SourceArn']).to.match(/^arn:aws:/)
      const subscription = one(inventory, T.subscription, '-mail-events')
      hasProps(subscription, { protocol: 'sqs' })
      const queue = one(inventory, T.queue, '-mail-events')
      hasProps(queue, { sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 86_400 })
      const [deliver] = json<{ Statement: Statement[] }>(
        one(inventory, T.queuePolicy, '-mail-events'),
        'policy',
      ).Statement
      expect(deliver?.Principal).to.deep.equal({ Service: 'sns.amazonaws.com' })
      expect(topic.inputs.name).to.equal(`blueprint-${name}-mail-events`)
    })

    it('lets the task role send only through this identity and configuration set, from one address', async () => {
      const { inventory } = await stack(name)
      const policy = one(inventory, T.rolePolicy, '-mail-send')
      const { Statement } = json<{ Statement: Statement[] }>(policy, 'policy')
      expect(Statement).to.have.length(1)
      const [send] = Statement as [Statement]
      expect(send.Action).to.equal('ses:SendEmail')
      expect(send.Resource).to.have.length(2)
      for (const arn of send.Resource as string[]) expect(arn).to.not.include('*')
      expect(send.Condition?.StringEquals?.['ses:FromAddress']).to.match(/^no-reply@/)
      // The mock names a role after its resource name plus a random suffix.
      expect(String(policy.inputs.role)).to.match(new RegExp(`^blueprint-${name}-task-`))
    })

    it('configures the service to send through SES with the configuration set', async () => {
      const { inventory } = await stack(name)
      const [app] = json<{ environment: { name: string; value: string }[] }[]>(
        one(inventory, T.td, '-service'),
        'containerDefinitions',
      )
      const env = Object.fromEntries((app?.environment ?? []).map((e) => [e.name, e.value]))
      expect(env).to.include({
        MAIL_TRANSPORT: 'ses',
        SES_REGION: inventory.region,
        SES_CONFIGURATION_SET: `blueprint-${name}-mail`,
      })
      expect(env.MAIL_FROM).to.match(/^no-reply@/)
      expect(env.APP_BASE_URL).to.match(/^https:\/\//)
    })
  })
}
