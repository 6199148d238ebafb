import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

export interface MailArgs {
  /** Domain mail is sent from (`no-reply@<domain>`); an SES domain identity, DKIM-signed. */
  domain: string
  /** Route 53 zone of `domain`: the DKIM CNAME records go there. */
  zoneId: pulumi.Input<string>
  region: string
  /**
   * Mail events (bounces, complaints) are kept this long in the queue for whoever reviews them.
   * @default 14 (days; SQS's maximum)
   */
  eventRetentionDays?: number
}

/** Events of the configuration set that reach the topic: the ones that call for action. */
export const MAIL_EVENT_TYPES = ['BOUNCE', 'COMPLAINT', 'REJECT', 'DELIVERY_DELAY']

/**
 * Outgoing mail through Amazon SES (v2): the domain identity with Easy DKIM, a configuration set
 * that suppresses bounced and complaining addresses (SES then refuses to send to them again, which
 * protects the account's reputation), and an SNS topic receiving bounce and complaint events,
 * delivered to an SQS queue for review. The service sends with the SESv2 API under its task role
 * (`grantSend`), pinned to this identity, this configuration set and the sender address.
 *
 * New SES accounts start in the sandbox (only verified recipients, 200 mails a day): request
 * production access once per account and region (docs/operations.md).
 */
export class Mail extends pulumi.ComponentResource {
  readonly identityArn: pulumi.Output<string>
  readonly configurationSetName: pulumi.Output<string>
  readonly configurationSetArn: pulumi.Output<string>
  readonly eventsTopicArn: pulumi.Output<string>
  readonly eventsQueueArn: pulumi.Output<string>
  readonly fromAddress: string
  /** What the service container needs to send through this identity. */
  readonly environment: Record<string, pulumi.Input<string>>

  private readonly region: string

  constructor(
    private readonly name: string,
    args: MailArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('blueprint:mail:Mail', name, {}, opts)
    this.region = args.region
    const parent = { parent: this }
    this.fromAddress = `no-reply@${args.domain}`

    const configurationSet = createConfigurationSet()
    const identity = createIdentity()
    createDkimRecords()
    const { topic, queue } = createEventPipeline()

    this.identityArn = identity.arn
    this.configurationSetName = configurationSet.configurationSetName
    this.configurationSetArn = configurationSet.arn
    this.eventsTopicArn = topic.arn
    this.eventsQueueArn = queue.arn
    this.environment = {
      MAIL_TRANSPORT: 'ses',
      SES_REGION: args.region,
      SES_CONFIGURATION_SET: configurationSet.configurationSetName,
      MAIL_FROM: this.fromAddress,
    }
    this.registerOutputs({ identityArn: this.identityArn, eventsTopicArn: this.eventsTopicArn })

    function createConfigurationSet() {
      return new aws.sesv2.ConfigurationSet(
        `${name}-mail`,
        {
          configurationSetName: `${name}-mail`,
          // Bounced or complaining addresses are never mailed again (account reputation).
          suppressionOptions: { suppressedReasons: ['BOUNCE', 'COMPLAINT'] },
          reputationOptions: { reputationMetricsEnabled: true },
          sendingOptions: { sendingEnabled: true },
          // Reset links are secrets: never hand them to a receiving server in clear text.
          deliveryOptions: { tlsPolicy: 'REQUIRE' },
        },
        parent,
      )
    }

    function createIdentity() {
      return new aws.sesv2.EmailIdentity(
        `${name}-mail`,
        {
          emailIdentity: args.domain,
          configurationSetName: configurationSet.configurationSetName,
          dkimSigningAttributes: { nextSigningKeyLength: 'RSA_2048_BIT' },
        },
        parent,
      )
    }

    function createDkimRecords() {
      // Easy DKIM always publishes three tokens; their values are known only after creation.
      for (const i of [0, 1, 2]) {
        const token = identity.dkimSigningAttributes.apply((a) => a?.tokens?.[i] ?? `pending-${i}`)
        new aws.route53.Record(
          `${name}-dkim-${i}`,
          {
            zoneId: args.zoneId,
            name: pulumi.interpolate`${token}._domainkey.${args.domain}`,
            type: 'CNAME',
            ttl: 1800,
            records: [pulumi.interpolate`${token}.dkim.amazonses.com`],
          },
          parent,
        )
      }
    }

    function createEventPipeline() {
      // Not KMS-encrypted: SES can publish to an encrypted topic only if the key policy names SES,
      // and the events hold no more than a recipient address and a bounce reason.
      const topic = new aws.sns.Topic(`${name}-mail-events`, { name: `${name}-mail-events` }, parent)
      new aws.sns.TopicPolicy(
        `${name}-mail-events`,
        {
          arn: topic.arn,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'SesPublishesThisConfigurationSet',
                Effect: 'Allow',
                Principal: { Service: 'ses.amazonaws.com' },
                Action: 'sns:Publish',
                Resource: topic.arn,
                Condition: { ArnLike: { 'aws:SourceArn': configurationSet.arn } },
              },
            ],
          }),
        },
        parent,
      )
      new aws.sesv2.ConfigurationSetEventDestination(
        `${name}-mail-events`,
        {
          configurationSetName: configurationSet.configurationSetName,
          eventDestinationName: 'bounces-and-complaints',
          eventDestination: {
            enabled: true,
            matchingEventTypes: MAIL_EVENT_TYPES,
            snsDestination: { topicArn: topic.arn },
          },
        },
        parent,
      )
      const queue = new aws.sqs.Queue(
        `${name}-mail-events`,
        {
          name: `${name}-mail-events`,
          messageRetentionSeconds: (args.eventRetentionDays ?? 14) * 86_400,
          sqsManagedSseEnabled: true,
        },
        parent,
      )
      new aws.sqs.QueuePolicy(
        `${name}-mail-events`,
        {
          queueUrl: queue.url,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queue.arn,
                Condition: { ArnEquals: { 'aws:SourceArn': topic.arn } },
              },
            ],
          }),
        },
        parent,
      )
      new aws.sns.TopicSubscription(
        `${name}-mail-events`,
        { topic: topic.arn, protocol: 'sqs', endpoint: queue.arn, rawMessageDelivery: true },
        parent,
      )
      return { topic, queue }
    }
  }

  /** Lets `role` send mail through this identity and configuration set, from the one sender address only. */
  grantSend(role: pulumi.Input<string>): aws.iam.RolePolicy {
    return new aws.iam.RolePolicy(
      `${this.name}-mail-send`,
      {
        role,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              // SESv2 SendEmail authorises against the identity and the configuration set.
              Effect: 'Allow',
              Action: 'ses:SendEmail',
              Resource: [this.identityArn, this.configurationSetArn],
              Condition: { StringEquals: { 'ses:FromAddress': this.fromAddress } },
            },
          ],
        }),
      },
      { parent: this },
    )
  }
}
