/**
 * Step-up: a fresh second factor before the actions that hand an account to whoever holds its
 * session (email change, password change, MFA off, new recovery codes, erasure). Once the user has
 * MFA, a stolen session or an unattended browser plus the password is not enough for them.
 *
 * The password and the code are judged exactly as in the login (features/auth/routes.ts): each
 * is charged to the login throttle before it is checked (the device cookie's budget for the owner's
 * known devices, the account's `lock:acct:` counter for every other client) and refunded when
 * right, so a stolen session guesses passwords no faster here than at the login. A code also goes
 * through the hashing limiter, counts against the daily budget of wrong answers (`MfaFailures`,
 * with the owner's mail when it is spent) and is accepted once (a TOTP step or a recovery code is
 * spent by the check); a recovery code spent here mails the owner, as at the login.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { HttpError, tooManyRequests } from '../../platform/errors.js'
import { type MfaChange, mfaChangedMail } from '../../platform/mail/templates.js'
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

/** The account a re-authentication is for: with the hash its password is checked against. */
export interface ReauthUser extends StepUpUser {
  passwordHash: string
}

/** 403 on a wrong password in a re-authentication (not 401: the session itself is fine). */
export const reauthenticationFailed = () =>
  new HttpError(403, 'REAUTHENTICATION_FAILED', 'Password is incorrect')

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
   * password), then the password (`checkPassword`), then the factor. A recovery code is spent only
   * after the password was right. Users without MFA: the password alone; a factor sent anyway is
   * ignored, even a malformed pair. Resolves to whether the user has MFA.
   */
  async authorize(
    request: FastifyRequest,
    user: ReauthUser,
    body: SecondFactor,
    password: string,
  ): Promise<{ mfa: boolean }> {
    const enabled = await this.app.mfa.authenticators.isEnabled(user.id)
    if (!enabled) {
      await this.checkPassword(request, user, password)
      return { mfa: false }
    }
    if (body.code === undefined && body.recoveryCode === undefined) throw mfaCodeRequired()
    const factor = oneFactor(body)
    await this.checkPassword(request, user, password)
    await this.verify(request, user, factor)
    return { mfa: true }
  }

  /**
   * The password of a re-authentication, counted like a login's: charged to the login throttle
   * before the check (429 once its budget is spent, without a check), refunded when right, kept
   * when wrong (403 REAUTHENTICATION_FAILED).
   */
  async checkPassword(request: FastifyRequest, user: ReauthUser, password: string): Promise<void> {
    const verdict = await this.throttle.check(this.attempt(request, user))
    if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSeconds)
    const right = await this.throttle.judged(verdict.counter, () =>
      this.app.passwords.verify(password, user.passwordHash),
    )
    if (!right) throw reauthenticationFailed()
    await this.throttle.refund(verdict.counter)
  }

  /**
   * Checks one factor of a user who has MFA, counting it like a login's second step: 429 when the
   * login throttle refuses, 403 MFA_CODES_LOCKED for a code past the daily budget, 403
   * INVALID_MFA_CODE when wrong or already used. A right one is spent and forgives the day's
   * wrong answers, as a sign-in does.
   */
  async verify(request: FastifyRequest, user: StepUpUser, factor: SecondFactor): Promise<void> {
    const { authenticators, failures } = this.app.mfa
    const verdict = await this.throttle.check(this.attempt(request, user))
    if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSeconds)
    if (factor.code !== undefined && (await failures.exhausted(user.id))) {
      // Refused without a check: nothing was judged, so nothing stays charged.
      await this.throttle.refund(verdict.counter)
      throw codesLocked()
    }
    const valid = await this.throttle.judged(verdict.counter, () =>
      this.app.passwords.limiter.run(() => authenticators.verify(user.id, factor)),
    )
    if (!valid) {
      if (await failures.record(user.id)) this.notify(request, user, 'code-failures')
      throw wrongCode()
    }
    await failures.clear(user.id)
    await this.throttle.refund(verdict.counter)
    // A recovery code in someone else's hands is how an account is taken over: tell the owner.
    if (factor.recoveryCode !== undefined) this.notify(request, user, 'recovery-code-used')
  }

  // Where the login charges (device cookie or header first, else the account).
  private attempt(request: FastifyRequest, user: StepUpUser) {
    const header = request.headers['x-device-token']
    const deviceToken = typeof header === 'string' ? header : request.cookies[this.deviceCookie]
    return { email: user.email, userId: user.id, deviceToken }
  }

  // After the answer, like every lifecycle mail: a slow mail server never fails the request.
  private notify(request: FastifyRequest, user: StepUpUser, change: MfaChange) {
    setImmediate(() => {
      this.app.mailer
        .send(user.email, mfaChangedMail(user.name, change))
        .catch((err: Error) =>
          request.log.warn({ err: { message: err.message } }, `mfa ${change} mail not sent`),
        )
    })
  }
}
