import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../config.js'
import { badRequest, conflict, HttpError, tooManyRequests } from '../../platform/errors.js'
import { isUniqueViolation } from '../../platform/prisma-errors.js'
import { errorRef } from '../../platform/schemas.js'
import { ENROLMENT_ONLY_ROLE } from '../mfa/policy.js'
import { oneFactor, SecondFactorFields } from '../mfa/schemas.js'
import { hashedEmail, normalizeEmail } from './email.js'
import { HashingOverloadedError } from './hashing-limiter.js'
import { accountLockKey, deviceCookieName, LoginThrottle } from './lockout.js'
import { mailLinks } from './mail-links.js'
import { checkPassword, PASSWORD_MAX_LENGTH } from './password-policy.js'
import { Email, Name, toPublicUser, userRef } from './schemas.js'

// Length is checked by the policy (in code points, with a field-level message); the schema only
// caps the raw size so nobody makes the server hash a megabyte.
export const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 })
const MailToken = Type.String({ minLength: 1, maxLength: 128 })

const RegisterBody = Type.Object(
  { email: Email, password: Password, name: Name },
  { additionalProperties: false },
)
const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Password },
  { additionalProperties: false },
)
/** A new session as login and password change return it. */
export const SessionResponse = Type.Object({
  user: userRef,
  token: Type.String({ description: 'Session token for `Authorization: Bearer` (also set as cookie)' }),
  expiresAt: Type.String({
    format: 'date-time',
    description: 'Slides forward on every authenticated request, up to the absolute session lifetime',
  }),
})
const LoginResponse = Type.Object({
  ...SessionResponse.properties,
  mfaEnrolmentRequired: Type.Optional(
    Type.Literal(true, {
      description:
        'REQUIRE_MFA is on and the account has no second factor: this session can only enrol (/v1/me/mfa)',
    }),
  ),
  deviceToken: Type.String({
    description:
      'Marks this device as known to the account (also set as cookie); apps send it back as ' +
      '`X-Device-Token` so guessing by strangers cannot lock them out',
  }),
})

const MfaChallengeResponse = Type.Object({
  mfaRequired: Type.Literal(true),
  challenge: Type.String({
    description:
      'Send it with a code to POST /v1/auth/login/mfa from this same client; single use, short-lived',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
})
const MfaLoginBody = Type.Object(
  { challenge: Type.String({ minLength: 1, maxLength: 128 }), ...SecondFactorFields },
  { additionalProperties: false },
)
const DeviceHeader = Type.Object({ 'x-device-token': Type.Optional(Type.String({ maxLength: 64 })) })

const invalidCredentials = () => new HttpError(401, 'INVALID_CREDENTIALS', 'Invalid email or password')
const invalidChallenge = () =>
  new HttpError(401, 'INVALID_MFA_CHALLENGE', 'The sign-in expired or was already used; log in again')

/** Options of the auth routes. */
export interface AuthRoutesOptions {
  rateLimit: Config['rateLimit']
  lockout: Config['lockout']
  account: Config['account']
  mail: Config['mail']
  cookieSecure: boolean
}

/** Registration, login, logout, password reset and email verification: POST /v1/auth/*. */
const auth: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, opts) => {
  const limits = opts.rateLimit
  const throttle = new LoginThrottle(app.redis, opts.lockout)
  const links = mailLinks(app, opts)
  const deviceCookie = deviceCookieName(opts.cookieSecure)
  const ip = (request: FastifyRequest) => request.ip
  // Hashed: rate-limit keys in Redis never hold an email address (they outlive an erasure otherwise).
  const account = (request: FastifyRequest) => hashedEmail((request.body as { email: string }).email)
  // Tokens and passwords in answers: never in a shared cache or the browser's history cache.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('cache-control', 'no-store')
    done()
  })

  app.post(
    '/register',
    {
      preHandler: [
        app.limit({
          name: 'register-ip',
          max: limits.registerPerIp,
          windowSeconds: limits.windowSeconds,
          key: ip,
        }),
        app.limit({
          name: 'register-account',
          max: limits.registerPerAccount,
          windowSeconds: limits.windowSeconds,
          key: account,
        }),
      ],
      schema: {
        tags: ['auth'],
        summary: 'Create an account; a verification link goes to the email address',
        body: RegisterBody,
        response: {
          201: Type.Object({ user: userRef }),
          400: errorRef,
          409: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const email = normalizeEmail(request.body.email)
      const problems = checkPassword(request.body.password, { email })
      if (problems.length > 0) throw badRequest('Password does not meet the policy', problems)
      const passwordHash = await app.passwords.hash(request.body.password)
      try {
        const user = await app.prisma.user.create({ data: { email, passwordHash, name: request.body.name } })
        links.sendVerification(request, user, email)
        return reply.code(201).send({ user: toPublicUser(user) })
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('EMAIL_TAKEN', 'An account with this email already exists')
        throw err
      }
    },
  )

  // Both login steps check a secret: the hashing limiter bounds them and sheds 503 itself
  // (platform/load-shedding.ts), and one per-IP budget (shared by name in Redis) covers both.
  const passwordChecked = { ownLimiter: true }
  const loginPerIp = app.limit({
    name: 'login-ip',
    max: limits.loginPerIp,
    windowSeconds: limits.windowSeconds,
    key: ip,
  })

  app.post(
    '/login',
    {
      config: passwordChecked,
      preHandler: loginPerIp,
      schema: {
        tags: ['auth'],
        summary:
          'Log in: returns a fresh session token and sets the session cookie, or, when the account has ' +
          'two-factor authentication, a challenge for POST /v1/auth/login/mfa',
        body: LoginBody,
        headers: DeviceHeader,
        response: {
          200: Type.Union([LoginResponse, MfaChallengeResponse]),
          400: errorRef,
          401: errorRef,
          403: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const { password } = request.body
      const email = normalizeEmail(request.body.email)
      const user = await app.prisma.user.findUnique({ where: { email } })
      const deviceToken = request.headers['x-device-token'] ?? request.cookies[deviceCookie]
      const verdict = await throttle.check({ email, userId: user?.id, deviceToken })
      if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSeconds)
      // Unknown email: spend the same hashing time as a real check, then give the same answer. A
      // wrong password answers right after the hash on either path: nothing else is read for a
      // known email first (its time would tell which emails exist).
      const valid = await throttle.judged(verdict.counter, () =>
        user ? app.passwords.verify(password, user.passwordHash) : app.passwords.verifyDummy(password),
      )
      // The attempt was charged by `check`; a failure keeps the charge, a correct password refunds it.
      if (!user || !valid) throw invalidCredentials()
      // Race with an erasure, a revoke-all, a password change or a role change: read the session
      // generation first, then the user again. A change that committed before the second read is
      // seen here; one that commits after it bumps the generation after we read it, so `create`
      // refuses. Either way no session survives the change with stale rights. (A login is a chain
      // of round trips, each a wait in a spike: the read and the refund leave together, and so do
      // the second read and whether the account has a second factor.)
      const [generation] = await Promise.all([
        app.sessions.generation(user.id),
        throttle.refund(verdict.counter),
      ])
      const [current, mfaEnabled] = await Promise.all([
        app.prisma.user.findUnique({ where: { id: user.id } }),
        app.mfa.authenticators.isEnabled(user.id),
      ])
      if (!current || current.deletedAt) throw invalidCredentials()
      // Another hash than the one verified: a password change (the old password fails against it)
      // or a concurrent login's upgrade of the same password (it passes). Rare, so the extra check
      // costs nothing.
      if (
        current.passwordHash !== user.passwordHash &&
        !(await app.passwords.verify(password, current.passwordHash))
      ) {
        throw invalidCredentials()
      }
      // scrypt or weaker argon2id: upgrade now. A rehash shed under load waits for the next login.
      if (app.passwords.needsRehash(current.passwordHash)) {
        const upgraded = await app.passwords.hash(password).catch((err: unknown) => {
          if (err instanceof HashingOverloadedError) return undefined
          throw err
        })
        // Only over the hash we verified: a password change that landed meanwhile must not be
        // overwritten with the old password's upgrade (its revoke-all then refuses this login).
        const { count } = upgraded
          ? await app.prisma.user.updateMany({
              where: { id: user.id, passwordHash: current.passwordHash },
              data: { passwordHash: upgraded },
            })
          : { count: 0 }
        if (count === 1) request.log.info({ userId: user.id }, 'password rehashed with current parameters')
        // Another hash landed after the second read: judge the password against that one.
        if (upgraded && count === 0) {
          const latest = await app.prisma.user.findUnique({ where: { id: user.id } })
          if (!latest || latest.deletedAt || !(await app.passwords.verify(password, latest.passwordHash))) {
            throw invalidCredentials()
          }
        }
      }
      if (opts.account.requireVerifiedEmail && !current.emailVerifiedAt) {
        throw new HttpError(
          403,
          'EMAIL_NOT_VERIFIED',
          'Confirm your email address first (see the mail we sent)',
        )
      }
      // A second factor: no session yet, a challenge bound to this client and generation instead.
      if (mfaEnabled) {
        const challenge = await app.mfa.challenges.issue(
          current.id,
          { ip: request.ip, deviceToken },
          generation,
        )
        return {
          mfaRequired: true as const,
          challenge: challenge.token,
          expiresAt: challenge.expiresAt.toISOString(),
        }
      }
      // REQUIRE_MFA: a user without a second factor gets a session that can only enrol one.
      const enrolmentOnly = app.mfa.config.requireForAll
      return startSession(request, reply, current, generation, deviceToken, { enrolmentOnly })
    },
  )

  app.post(
    '/login/mfa',
    {
      config: passwordChecked,
      preHandler: loginPerIp,
      schema: {
        tags: ['auth'],
        summary:
          'Second login step: the challenge from POST /v1/auth/login and a current code (or one recovery code)',
        body: MfaLoginBody,
        headers: DeviceHeader,
        response: {
          200: LoginResponse,
          400: errorRef,
          401: errorRef,
          403: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const factor = oneFactor(request.body)
      const deviceToken = request.headers['x-device-token'] ?? request.cookies[deviceCookie]
      const challenge = await app.mfa.challenges.attempt(request.body.challenge, {
        ip: request.ip,
        deviceToken,
      })
      if (!challenge) throw invalidChallenge()
      const user = await app.prisma.user.findUnique({ where: { id: challenge.userId } })
      if (!user || user.deletedAt) throw invalidChallenge()
      // Wrong codes count where wrong passwords do (device cookie or account): guessing codes spends
      // the same budget, and the owner's known devices keep theirs.
      const verdict = await throttle.check({ email: user.email, userId: user.id, deviceToken })
      if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSeconds)
      // A day's budget of wrong answers spent: codes stop working, recovery codes still do.
      if (factor.code !== undefined && (await app.mfa.failures.exhausted(user.id))) {
        await app.mfa.challenges.failed(challenge)
        // Refused without a check: nothing stays charged.
        await throttle.refund(verdict.counter)
        throw new HttpError(
          403,
          'MFA_CODES_LOCKED',
          'Too many wrong codes for this account today: sign in with a recovery code or reset your password',
        )
      }
      // Through the hashing limiter like a password check: a flood of second steps queues or sheds.
      const valid = await throttle.judged(verdict.counter, () =>
        app.passwords.limiter.run(() => app.mfa.authenticators.verify(user.id, factor)),
      )
      if (!valid) {
        await app.mfa.challenges.failed(challenge)
        if (await app.mfa.failures.record(user.id)) links.sendMfaNotice(request, user, 'code-failures')
        throw new HttpError(401, 'INVALID_MFA_CODE', 'The code is wrong or was already used')
      }
      await app.mfa.failures.clear(user.id)
      await throttle.refund(verdict.counter)
      if (!(await app.mfa.challenges.consume(challenge))) throw invalidChallenge()
      if (factor.recoveryCode !== undefined) {
        links.sendMfaNotice(request, user, 'recovery-code-used')
      }
      return startSession(request, reply, user, challenge.generation, deviceToken, { mfa: true })
    },
  )

  /** The end of every login: a new session (none carried over), a trusted device, the notice. */
  const startSession = async (
    request: FastifyRequest,
    reply: FastifyReply,
    user: { id: string; role: 'user' | 'admin' } & Parameters<typeof toPublicUser>[0],
    generation: string,
    deviceToken: string | undefined,
    { enrolmentOnly = false, mfa = false }: { enrolmentOnly?: boolean; mfa?: boolean } = {},
  ) => {
    // Never keep a session the client arrived with (fixation): logging in always starts a new one.
    const previous = app.sessionTokenOf(request)
    const stale = previous ? await app.sessions.touch(previous, { slide: false }) : undefined
    if (stale) await app.sessions.revoke(stale)
    // Throws the same 401 when the generation moved meanwhile. The device is trusted in the same
    // step, only when the session is created (a refused login must not write it back after an
    // erasure, or reset its failures). The failures are cleared after, without holding the answer
    // for it: best effort, they expire with the window anyway.
    const trust = throttle.trust(user.id, deviceToken)
    const created = await app.sessions.create(
      user.id,
      enrolmentOnly ? ENROLMENT_ONLY_ROLE : user.role,
      generation,
      { mfa, alongside: trust.entry },
    )
    throttle
      .clearFailures(user.id, trust.token)
      .catch((err: Error) =>
        request.log.warn({ err: { message: err.message } }, 'device failures not cleared'),
      )
    const device = trust.token
    // Security event: the user hears of every new sign-in, and only of one that happened (so after
    // the session and the device were written). A failed write must not fail the login.
    await app
      .notify(user.id, 'security.login', {
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      })
      .catch((err: Error) =>
        request.log.warn({ err: { message: err.message } }, 'login notification not queued'),
      )
    // The session cookie first: clients that read one Set-Cookie read the session.
    app.setSessionCookie(reply, created.token)
    setDeviceCookie(reply, device)
    return {
      user: toPublicUser(user),
      token: created.token,
      expiresAt: created.session.expiresAt.toISOString(),
      deviceToken: device,
      ...(enrolmentOnly ? { mfaEnrolmentRequired: true as const } : {}),
    }
  }

  const setDeviceCookie = (reply: FastifyReply, token: string) =>
    reply.setCookie(deviceCookie, token, {
      httpOnly: true,
      secure: opts.cookieSecure,
      sameSite: 'lax',
      path: '/',
      maxAge: opts.lockout.deviceCookieDays * 86_400,
    })

  app.post(
    '/logout',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: 'End the current session',
        security: [{ bearer: [] }, { cookie: [] }],
        response: { 204: Type.Null(), 401: errorRef, 403: errorRef, 503: errorRef },
      },
    },
    async (request, reply) => {
      if (request.session) await app.sessions.revoke(request.session)
      app.clearSessionCookie(reply)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/password-reset',
    {
      preHandler: [
        app.limit({
          name: 'reset-ip',
          max: limits.registerPerIp,
          windowSeconds: limits.windowSeconds,
          key: ip,
        }),
        app.limit({
          name: 'reset-account',
          max: limits.registerPerAccount,
          windowSeconds: limits.windowSeconds,
          key: account,
        }),
      ],
      schema: {
        tags: ['auth'],
        summary: 'Ask for a password reset link by mail (the same answer whether or not the account exists)',
        // Public: the mailed token (or only an address) is the credential, no session is needed.
        security: [],
        body: Type.Object(
          { email: Type.String({ minLength: 1, maxLength: 254 }) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ accepted: Type.Literal(true) }),
          400: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      // The lookup and the mail happen after the answer: its content and timing cannot tell
      // whether the address has an account.
      links.sendPasswordReset(request, normalizeEmail(request.body.email))
      return reply.code(202).send({ accepted: true as const })
    },
  )

  app.post(
    '/password-reset/confirm',
    {
      preHandler: app.limit({
        name: 'reset-confirm-ip',
        max: limits.loginPerIp,
        windowSeconds: limits.windowSeconds,
        key: ip,
      }),
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a reset token; every session of the account ends',
        // Public: the mailed token (or only an address) is the credential, no session is needed.
        security: [],
        body: Type.Object({ token: MailToken, password: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), 400: errorRef, 429: errorRef, 503: errorRef },
      },
    },
    async (request, reply) => {
      const redeemed = await links.tokens.redeem(request.body.token, 'reset')
      const user = redeemed && (await app.prisma.user.findUnique({ where: { id: redeemed.userId } }))
      // A link mailed to an address the account no longer has is dead (see account-tokens.ts).
      if (!redeemed || !user || user.deletedAt || redeemed.issuedFor !== user.email) {
        throw new HttpError(400, 'INVALID_TOKEN', 'The link is invalid, used or expired; ask for a new one')
      }
      const problems = checkPassword(request.body.password, { email: user.email })
      if (problems.length > 0) {
        // The token was spent on a password the policy refuses: issue nothing, the user asks again.
        throw badRequest('Password does not meet the policy', problems)
      }
      const passwordHash = await app.passwords.hash(request.body.password)
      await app.prisma.user.update({ where: { id: user.id }, data: { passwordHash } })
      await app.sessions.revokeAll(user.id)
      await links.tokens.revokeAll(user.id, 'reset')
      // The owner proved control of the mailbox: strangers' guesses no longer lock the account.
      await app.redis.del(accountLockKey(user.email))
      await app.mfa.failures.clear(user.id)
      request.log.info({ userId: user.id }, 'password reset')
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/verify-email',
    {
      preHandler: app.limit({
        name: 'verify-ip',
        max: limits.loginPerIp,
        windowSeconds: limits.windowSeconds,
        key: ip,
      }),
      schema: {
        tags: ['auth'],
        summary: 'Confirm an email address with the token from the verification mail',
        // Public: the mailed token (or only an address) is the credential, no session is needed.
        security: [],
        body: Type.Object({ token: MailToken }, { additionalProperties: false }),
        response: {
          200: Type.Object({ user: userRef }),
          400: errorRef,
          409: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request) => {
      const redeemed = await links.tokens.redeem(request.body.token, 'verify')
      const user = redeemed && (await app.prisma.user.findUnique({ where: { id: redeemed.userId } }))
      // Only while the account still has the address the link was issued under: a registration
      // link left unused cannot undo a later email change.
      if (!redeemed?.email || !user || user.deletedAt || redeemed.issuedFor !== user.email) {
        throw new HttpError(400, 'INVALID_TOKEN', 'The link is invalid, used or expired; ask for a new one')
      }
      try {
        // Compare-and-set on the address: a change that committed since the read above wins.
        const { count } = await app.prisma.user.updateMany({
          where: { id: user.id, email: user.email, deletedAt: null },
          data: { email: redeemed.email, emailVerifiedAt: new Date() },
        })
        if (count !== 1) {
          throw new HttpError(400, 'INVALID_TOKEN', 'The link is invalid, used or expired; ask for a new one')
        }
        const updated = await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } })
        // Every other link (verify or reset) was mailed under the old state: none survives.
        await links.tokens.revokeAll(user.id)
        if (updated.email !== user.email) links.sendEmailChanged(request, user, user.email, updated.email)
        await links.invalidateProfile(user.id)
        return { user: toPublicUser(updated) }
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('EMAIL_TAKEN', 'An account with this email already exists')
        throw err
      }
    },
  )
}

export default auth
