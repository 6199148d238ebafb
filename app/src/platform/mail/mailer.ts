/**
 * Outgoing mail through one transport: nodemailer over SMTP locally and in tests, over the Amazon
 * SES v2 API in AWS. SES through its API (not its SMTP interface) because the API signs with the
 * task role's temporary credentials: no long-lived SMTP password to create, store and rotate, and
 * the IAM policy can pin `ses:SendEmail` to one identity and configuration set.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import nodemailer, { type Transporter } from 'nodemailer'
import type { Config } from '../../config.js'
import type { RenderedMail } from './templates.js'

/** Sends rendered mails to one recipient. */
export interface Mailer {
  send(to: string, mail: RenderedMail): Promise<void>
}

/** Builds the transport the configuration names. */
export function createMailer(config: Config['mail']): Mailer & { close(): void } {
  const transporter: Transporter =
    config.transport === 'ses'
      ? nodemailer.createTransport({
          SES: { sesClient: new SESv2Client({ region: config.sesRegion }), SendEmailCommand },
        })
      : nodemailer.createTransport(config.smtpUrl)
  return {
    async send(to, mail) {
      await transporter.sendMail({
        from: config.from,
        to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // Bounces and complaints reach the configuration set's event destination (infra/src/mail.ts).
        ...(config.transport === 'ses' && config.sesConfigurationSet
          ? { ses: { ConfigurationSetName: config.sesConfigurationSet } }
          : {}),
      })
    },
    close: () => transporter.close(),
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    mailer: Mailer
  }
}

async function mailPlugin(app: FastifyInstance, opts: { config: Config['mail'] }) {
  const mailer = createMailer(opts.config)
  app.decorate('mailer', mailer)
  app.addHook('onClose', async () => mailer.close())
}

export default fp(mailPlugin, { name: 'mail', fastify: '5.x' })
