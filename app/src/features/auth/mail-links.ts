/**
 * The mails of the account lifecycle: verification links (registration, email change) and password
 * reset links. Sending happens after the answer, off the request: a slow or failing mail server
 * never fails or slows the request, and a reset request answers the same, at the same speed,
 * whether or not the address has an account.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { cacheNs } from '../../platform/cache/plugin.js'
import {
  emailChangedMail,
  type MfaChange,
  mfaChangedMail,
  passwordResetMail,
  verifyEmailMail,
} from '../../platform/mail/templates.js'
import { AccountTokens } from './account-tokens.js'

/** Builds the lifecycle mail senders of an app. */
export function mailLinks(app: FastifyInstance, opts: { account: Config['account']; mail: Config['mail'] }) {
  const tokens = new AccountTokens(app.redis)
  const { passwordResetTtlSeconds, emailVerificationTtlSeconds } = opts.account
  const link = (path: string, token: string) =>
    `${opts.mail.appBaseUrl.replace(/\/$/, '')}${path}#token=${token}`

  /** Runs `work` after the current request, logging (never throwing) a failure. */
  const later = (request: FastifyRequest, what: string, work: () => Promise<void>) => {
    setImmediate(() => {
      work().catch((err: Error) =>
        request.log.warn({ err: { message: err.message } }, `${what} mail not sent`),
      )
    })
  }

  return {
    tokens,
    /** Mails a verification link for `email` (the current address, or the new one of an email change). */
    sendVerification(
      request: FastifyRequest,
      user: { id: string; name: string; email: string },
      email: string,
    ) {
      later(request, 'verification', async () => {
        // Bound to the account's current address: an email change completed meanwhile kills it.
        const token = await tokens.issue(user.id, 'verify', emailVerificationTtlSeconds, email, user.email)
        await app.mailer.send(
          email,
          verifyEmailMail(
            user.name,
            link('/verify-email', token),
            Math.round(emailVerificationTtlSeconds / 3600),
          ),
        )
      })
    },
    /** Mails a reset link if `email` has a live account; nothing otherwise. */
    sendPasswordReset(request: FastifyRequest, email: string) {
      later(request, 'password reset', async () => {
        const user = await app.prisma.user.findUnique({ where: { email } })
        if (!user || user.deletedAt) return
        const token = await tokens.issue(user.id, 'reset', passwordResetTtlSeconds, undefined, user.email)
        await app.mailer.send(
          user.email,
          passwordResetMail(
            user.name,
            link('/reset-password', token),
            Math.round(passwordResetTtlSeconds / 60),
          ),
        )
      })
    },
    /** Tells the previous address that the account's email changed (the owner may not have done it). */
    sendEmailChanged(request: FastifyRequest, user: { name: string }, oldEmail: string, newEmail: string) {
      later(request, 'email changed', () => app.mailer.send(oldEmail, emailChangedMail(user.name, newEmail)))
    },
    /** Tells the account's address that its two-factor authentication changed. */
    sendMfaNotice(request: FastifyRequest, user: { name: string; email: string }, change: MfaChange) {
      later(request, `mfa ${change}`, () => app.mailer.send(user.email, mfaChangedMail(user.name, change)))
    },
    /** Drops the cached profile after an email change. */
    invalidateProfile: (userId: string) => app.cache.invalidate(cacheNs.profile(userId)),
  }
}
