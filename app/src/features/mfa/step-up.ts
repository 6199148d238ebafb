/**
 * Step-up: a fresh second factor before the actions that hand an account to whoever holds its
 * session (email change, password change, MFA off, new recovery codes, erasure). Once the user has
 * MFA, a stolen session or an unattended browser plus the password is not enough for them.
 *
 * A code is judged exactly as in the login's second step (features/auth/routes.ts): through the
 * hashing limiter, charged to the login throttle (the device cookie's budget or the account's),
 * against the daily budget of wrong answers (`MfaFailures`, with the owner's mail when it is spent),
 * and accepted once (a TOTP step or a recovery code is spent by the check).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { HttpError, tooManyRequests } from '../../platform/errors.js'
import { mfaChangedMail } from '../../platform/mail/templates.js'
import { deviceCookieName, LoginThrottle } from '../auth/lockout.js'
import type { SecondFactor } from './authenticator.js'
import { oneFactor } from './schemas.js'

/** What the step-up needs from the configuration. */
export interface StepUpOptions {
  lockout: Config['lockout']
  cookieSecure: boolean
}

/** The account a step-up is for. */
export interface StepUpUser {
  id: string
  email: string
  name: string
}

/** 403 naming the missing field: the user has MFA and the request carried no factor. */
export const mfaCodeRequired = () =>
  new HttpError(
    403,
    'MFA_CODE_REQUIRED',
    'Two-factor authentication is on: send a current code (or a recovery code) with this request',
    [{ field: 'code', message: 'a current 6-digit code, or recoveryCode, is required' }],
  )
/** 403 on a wrong or spent code (not 401: the session itself is fine). */
export const wrongCode = () => new HttpError(403, 'INVALID_MFA_CODE', 'The code is wrong or was already used')
/** 403 once the day's budget of wrong answers is spent: codes stop working, recovery codes still do. */
export const codesLocked = () =>
  new HttpError(
    403,
    'MFA_CODES_LOCKED',
    'Too many wrong codes for this account today: use a recovery code or reset your password',
  )

/** Demands and checks the second factor of account-takeover actions. */
export class StepUp {
  private readonly throttle: LoginThrottle
  private readonly deviceCookie: string

  constructor(
    private readonly app: FastifyInstance,
    opts: StepUpOptions,
  ) {
    this.throttle = new LoginThrottle(app.redis, opts.lockout)
    this.deviceCookie = deviceCookieName(opts.cookieSecure)
  }

  /**
   * The whole re-authentication of a sensitive action: 403 MFA_CODE_REQUIRED before anything is
   * checked when the user has MFA and `body` has no factor (so the answer tells nothing about the
   * password), then `checkPassword`, then the factor. A recovery code is spent only after the
   * password was right. Users without MFA: `checkPassword` alone, a factor sent anyway is ignored.
   */
  async authorize(
    request: FastifyRequest,
    user: StepUpUser,
    body: SecondFactor,
    checkPassword: () => Promise<void>,
  ): Promise<void> {
    const sent = body.code !== undefined || body.recoveryCode !== undefined
    const factor = sent ? oneFactor(body) : undefined
    const enabled = await this.app.mfa.authenticators.isEnabled(user.id)
    if (enabled && !factor) throw mfaCodeRequired()
    await checkPassword()
    if (enabled && factor) await this.verify(request, user, factor)
  }

  /**
   * Checks one factor of a user who has MFA, counting it like a login's second step: 429 when the
   * login throttle refuses, 403 MFA_CODES_LOCKED for a code past the daily budget, 403
   * INVALID_MFA_CODE when wrong or already used. A right one is spent and forgives the day's
   * wrong answers, as a sign-in does.
   */
  async verify(request: FastifyRequest, user: StepUpUser, factor: SecondFactor): Promise<void> {
    const { authenticators, failures } = this.app.mfa
    const header = request.headers['x-device-token']
    const deviceToken = typeof header === 'string' ? header : request.cookies[this.deviceCookie]
    const verdict = await this.throttle.check({ email: user.email, userId: user.id, deviceToken })
    if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSeconds)
    if (factor.code !== undefined && (await failures.exhausted(user.id))) throw codesLocked()
    const valid = await this.app.passwords.limiter.run(() => authenticators.verify(user.id, factor))
    if (!valid) {
      if (await failures.record(user.id)) this.mailBudgetSpent(request, user)
      throw wrongCode()
    }
    await failures.clear(user.id)
    await this.throttle.refund(verdict.counter)
  }

  // After the answer, like every lifecycle mail: a slow mail server never fails the request.
  private mailBudgetSpent(request: FastifyRequest, user: StepUpUser) {
    setImmediate(() => {
      this.app.mailer
        .send(user.email, mfaChangedMail(user.name, 'code-failures'))
        .catch((err: Error) =>
          request.log.warn({ err: { message: err.message } }, 'mfa code-failures mail not sent'),
        )
    })
  }
}
