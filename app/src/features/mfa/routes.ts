import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../config.js'
import { HttpError, unauthorized } from '../../platform/errors.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { mailLinks } from '../auth/mail-links.js'
import { rotateSessions } from '../auth/rotate-session.js'
import { Password, SessionResponse } from '../auth/routes.js'
import { toPublicUser } from '../auth/schemas.js'
import { mfaRequired } from './policy.js'
import { RecoveryCodes, StepUpFields, TotpCode } from './schemas.js'
import { wrongCode } from './step-up.js'
import { base32Encode, otpauthUri } from './totp.js'

const MfaStatus = Type.Object({
  enabled: Type.Boolean(),
  enabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  recoveryCodesLeft: Type.Integer({ description: 'Unused recovery codes' }),
  required: Type.Boolean({
    description: 'The policy makes this account have it (REQUIRE_MFA, or REQUIRE_MFA_FOR_ADMIN for admins)',
  }),
})
const Enrolment = Type.Object({
  otpauthUri: Type.String({ description: 'otpauth://totp/... for the authenticator app (QR code or link)' }),
  secret: Type.String({ description: 'The same secret in base32, for typing it in; never shown again' }),
  expiresAt: Type.String({ format: 'date-time', description: 'Confirm with a code before this' }),
})
const SessionWithCodes = Type.Object({ ...SessionResponse.properties, recoveryCodes: RecoveryCodes })
const ReauthFactorBody = Type.Object({ password: Password, ...StepUpFields }, { additionalProperties: false })

/** Options of the /v1/me/mfa routes. */
export interface MfaRoutesOptions {
  account: Config['account']
  mail: Config['mail']
}

const notEnabled = () => new HttpError(409, 'MFA_NOT_ENABLED', 'Two-factor authentication is not on')

/**
 * Two-factor authentication of the signed-in user (/v1/me/mfa...): enrol, confirm, regenerate
 * recovery codes, disable. Registered in the protected scope. Every change needs the password
 * (and, once MFA is on, a current code), ends every other session and mails the owner.
 */
const mfa: FastifyPluginAsyncTypebox<MfaRoutesOptions> = async (app, opts) => {
  const { authenticators } = app.mfa
  const links = mailLinks(app, opts)
  const perUser = (name: string) =>
    app.limit({ name, max: 10, windowSeconds: 900, key: (request) => currentUserId(request) })

  const liveUser = async (request: FastifyRequest) => {
    const user = await app.prisma.user.findUnique({ where: { id: currentUserId(request) } })
    if (!user || user.deletedAt) throw unauthorized('Account no longer exists')
    return user
  }

  app.get(
    '',
    {
      schema: {
        tags: ['me', 'mfa'],
        summary: 'Whether two-factor authentication is on, and how many recovery codes are left',
        security: sessionSecurity,
        response: { 200: MfaStatus, ...authErrors },
      },
    },
    async (request) => {
      const user = await liveUser(request)
      const status = await authenticators.status(user.id)
      return {
        ...status,
        enabledAt: status.enabledAt?.toISOString() ?? null,
        required: mfaRequired(app.mfa.config, user.role),
      }
    },
  )

  app.post(
    '/enrolment',
    {
      preHandler: perUser('mfa-enrol'),
      schema: {
        tags: ['me', 'mfa'],
        summary:
          'Start enrolling an authenticator app (re-authenticate with the password): returns the secret once',
        security: sessionSecurity,
        body: Type.Object({ password: Password }, { additionalProperties: false }),
        response: { 201: Enrolment, 400: errorRef, 403: errorRef, 409: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const user = await liveUser(request)
      // Charged to the login throttle like every re-authentication (step-up.ts).
      await app.mfa.stepUp.checkPassword(request, user, request.body.password)
      const secret = await authenticators.startEnrolment(user.id)
      const expiresAt = new Date(Date.now() + app.mfa.config.enrolmentTtlSeconds * 1000)
      return reply.code(201).send({
        otpauthUri: otpauthUri(secret, app.mfa.config.issuer, user.email),
        secret: base32Encode(secret),
        expiresAt: expiresAt.toISOString(),
      })
    },
  )

  app.post(
    '/enrolment/confirm',
    {
      preHandler: perUser('mfa-confirm'),
      schema: {
        tags: ['me', 'mfa'],
        summary:
          'Confirm enrolment with a current code: MFA is on, every other session ends, recovery codes are shown once',
        security: sessionSecurity,
        body: Type.Object({ code: TotpCode }, { additionalProperties: false }),
        response: { 200: SessionWithCodes, 400: errorRef, 403: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const user = await liveUser(request)
      const recoveryCodes = await app.passwords.limiter.run(() =>
        authenticators.confirmEnrolment(user.id, request.body.code),
      )
      if (!recoveryCodes) throw wrongCode()
      const rotated = await rotateSessions(app, reply, user.id)
      links.sendMfaNotice(request, user, 'enabled')
      request.log.info({ userId: user.id }, 'mfa enabled')
      return {
        user: toPublicUser(rotated.user),
        token: rotated.token,
        expiresAt: rotated.expiresAt,
        recoveryCodes,
      }
    },
  )

  app.post(
    '/recovery-codes',
    {
      preHandler: perUser('mfa-recovery-codes'),
      schema: {
        tags: ['me', 'mfa'],
        summary:
          'Replace the recovery codes (password and a current code): the old ones stop working, every other session ends',
        security: sessionSecurity,
        body: ReauthFactorBody,
        response: { 200: SessionWithCodes, 400: errorRef, 403: errorRef, 409: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const user = await liveUser(request)
      // The step-up of every takeover action (403 MFA_CODE_REQUIRED without a factor, step-up.ts).
      const { mfa } = await app.mfa.stepUp.authorize(request, user, request.body, request.body.password)
      if (!mfa) throw notEnabled()
      const recoveryCodes = await authenticators.regenerateRecoveryCodes(user.id)
      const rotated = await rotateSessions(app, reply, user.id)
      links.sendMfaNotice(request, user, 'recovery-codes')
      request.log.info({ userId: user.id }, 'mfa recovery codes regenerated')
      return {
        user: toPublicUser(rotated.user),
        token: rotated.token,
        expiresAt: rotated.expiresAt,
        recoveryCodes,
      }
    },
  )

  app.delete(
    '',
    {
      preHandler: perUser('mfa-disable'),
      schema: {
        tags: ['me', 'mfa'],
        summary:
          'Turn two-factor authentication off (password and a current or recovery code); every other session ends',
        security: sessionSecurity,
        body: ReauthFactorBody,
        response: { 200: SessionResponse, 400: errorRef, 403: errorRef, 409: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const user = await liveUser(request)
      if (app.mfa.config.requireForAll) {
        throw new HttpError(
          403,
          'MFA_REQUIRED',
          'Two-factor authentication is required here and cannot be turned off',
        )
      }
      const { mfa } = await app.mfa.stepUp.authorize(request, user, request.body, request.body.password)
      if (!mfa) throw notEnabled()
      await authenticators.disable(user.id)
      const rotated = await rotateSessions(app, reply, user.id)
      links.sendMfaNotice(request, user, 'disabled')
      request.log.info({ userId: user.id }, 'mfa disabled')
      return { user: toPublicUser(rotated.user), token: rotated.token, expiresAt: rotated.expiresAt }
    },
  )
}

export default mfa
