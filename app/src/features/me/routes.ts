import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../config.js'
import type { Prisma } from '../../generated/prisma/client.js'
import { cacheNs } from '../../platform/cache/plugin.js'
import { badRequest, conflict, unauthorized } from '../../platform/errors.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { normalizeEmail } from '../auth/email.js'
import { mailLinks } from '../auth/mail-links.js'
import { checkPassword } from '../auth/password-policy.js'
import { rotateSessions } from '../auth/rotate-session.js'
import { Password, SessionResponse } from '../auth/routes.js'
import { Email, ProfileFields, toPublicUser, userRef } from '../auth/schemas.js'
import { StepUpFields } from '../mfa/schemas.js'

const ProfilePatch = Type.Object(
  {
    name: Type.Optional(ProfileFields.name),
    locale: Type.Optional(ProfileFields.locale),
    timezone: Type.Optional(ProfileFields.timezone),
    avatarUrl: Type.Optional(ProfileFields.avatarUrl),
  },
  { additionalProperties: false, minProperties: 1 },
)

const PreferencesObject = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  maxProperties: 100,
  description: 'Free-form JSON object of client preferences (size-limited)',
})
const Preferences = Type.Object({ preferences: PreferencesObject }, { additionalProperties: false })

/** Options of the /v1/me routes. */
export interface MeOptions {
  preferencesMaxBytes: number
  profileTtlSeconds?: number
  account: Config['account']
  mail: Config['mail']
}

const PROFILE_KEY = 'profile'
const readAlongSession = { ns: cacheNs.profile, key: PROFILE_KEY }

/**
 * The signed-in user: profile, preferences, password, email and sessions (/v1/me...). Registered in
 * the protected scope (features/auth/protected-scope.ts): every route has a session.
 */
const me: FastifyPluginAsyncTypebox<MeOptions> = async (app, opts) => {
  const profileTtl = opts.profileTtlSeconds ?? 300
  const links = mailLinks(app, opts)

  const loadUser = async (request: FastifyRequest) => {
    const user = await (await request.reader()).user.findUnique({ where: { id: currentUserId(request) } })
    if (!user) throw unauthorized('Account no longer exists')
    return user
  }
  const loadWriterUser = async (id: string) => {
    const user = await app.prisma.user.findUnique({ where: { id } })
    if (!user || user.deletedAt) throw unauthorized('Account no longer exists')
    return user
  }
  /**
   * Profile and preferences through the cache (cache-aside; PATCH and PUT invalidate it). The
   * routes that read it have the session check fetch the entry along (`readAlongSession`), so a
   * cached read costs one Redis round trip in all.
   */
  const cachedProfile = (request: FastifyRequest) =>
    app.cache.getOrLoad(
      cacheNs.profile(currentUserId(request)),
      PROFILE_KEY,
      profileTtl,
      async () => {
        const user = await loadUser(request)
        return { user: toPublicUser(user), preferences: user.preferences as Record<string, unknown> }
      },
      request.prefetched,
    )

  app.get(
    '',
    {
      config: { readAlongSession },
      schema: {
        tags: ['me'],
        summary: 'The signed-in user',
        security: sessionSecurity,
        response: { 200: userRef, ...authErrors },
      },
    },
    async (request) => (await cachedProfile(request)).user,
  )

  app.patch(
    '',
    {
      schema: {
        tags: ['me'],
        summary: 'Change profile fields (name, locale, timezone, avatarUrl)',
        security: sessionSecurity,
        body: ProfilePatch,
        response: { 200: userRef, 400: errorRef, ...authErrors },
      },
    },
    async (request) => {
      const user = await app.prisma.user.update({ where: { id: currentUserId(request) }, data: request.body })
      await app.cache.invalidate(cacheNs.profile(user.id))
      return toPublicUser(user)
    },
  )

  app.get(
    '/preferences',
    {
      config: { readAlongSession },
      schema: {
        tags: ['me'],
        summary: 'User preferences',
        security: sessionSecurity,
        response: { 200: Preferences, ...authErrors },
      },
    },
    async (request) => ({ preferences: (await cachedProfile(request)).preferences }),
  )

  app.put(
    '/preferences',
    {
      schema: {
        tags: ['me'],
        summary: 'Replace user preferences',
        security: sessionSecurity,
        body: Preferences,
        response: { 200: Preferences, 400: errorRef, ...authErrors },
      },
    },
    async (request) => {
      const { preferences } = request.body
      const size = Buffer.byteLength(JSON.stringify(preferences))
      if (size > opts.preferencesMaxBytes) {
        throw badRequest('Preferences are too large', [
          { field: 'preferences', message: `must be at most ${opts.preferencesMaxBytes} bytes of JSON` },
        ])
      }
      const user = await app.prisma.user.update({
        where: { id: currentUserId(request) },
        data: { preferences: preferences as Prisma.InputJsonObject },
      })
      await app.cache.invalidate(cacheNs.profile(user.id))
      return { preferences: user.preferences as Record<string, unknown> }
    },
  )

  app.post(
    '/password',
    {
      preHandler: app.limit({
        name: 'password-change',
        max: 10,
        windowSeconds: 900,
        key: (request) => currentUserId(request),
      }),
      schema: {
        tags: ['me'],
        summary:
          'Change the password (the current one, and a second factor when MFA is on); every other session ends',
        security: sessionSecurity,
        body: Type.Object(
          { currentPassword: Password, newPassword: Password, ...StepUpFields },
          { additionalProperties: false },
        ),
        response: { 200: SessionResponse, 400: errorRef, 403: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const user = await loadWriterUser(currentUserId(request))
      // The policy first: a refused new password must not have spent a code or a recovery code.
      const problems = checkPassword(request.body.newPassword, { email: user.email })
      if (problems.length > 0) throw badRequest('Password does not meet the policy', problems)
      await app.mfa.stepUp.authorize(request, user, request.body, request.body.currentPassword)
      const passwordHash = await app.passwords.hash(request.body.newPassword)
      await app.prisma.user.update({ where: { id: user.id }, data: { passwordHash } })
      // Every session ends (the generation bump is atomic), then the caller gets a fresh one: the
      // other sessions are revoked and this one is rotated.
      const rotated = await rotateSessions(app, reply, user.id)
      request.log.info({ userId: user.id }, 'password changed')
      return { user: toPublicUser(user), token: rotated.token, expiresAt: rotated.expiresAt }
    },
  )

  app.post(
    '/email',
    {
      preHandler: app.limit({
        name: 'email-change',
        max: 5,
        windowSeconds: 900,
        key: (request) => currentUserId(request),
      }),
      schema: {
        tags: ['me'],
        summary:
          'Change the email address (password, and a second factor when MFA is on): a verification link goes to the new address, which replaces the old one once confirmed',
        security: sessionSecurity,
        body: Type.Object(
          { email: Email, password: Password, ...StepUpFields },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ accepted: Type.Literal(true) }),
          400: errorRef,
          403: errorRef,
          409: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const user = await loadWriterUser(currentUserId(request))
      await app.mfa.stepUp.authorize(request, user, request.body, request.body.password)
      const email = normalizeEmail(request.body.email)
      if (email !== user.email && (await app.prisma.user.findUnique({ where: { email } }))) {
        throw conflict('EMAIL_TAKEN', 'An account with this email already exists')
      }
      links.sendVerification(request, user, email)
      return reply.code(202).send({ accepted: true as const })
    },
  )

  app.post(
    '/email/verification',
    {
      preHandler: app.limit({
        name: 'verification-resend',
        max: 5,
        windowSeconds: 900,
        key: (request) => currentUserId(request),
      }),
      schema: {
        tags: ['me'],
        summary: 'Send the verification link for the current email address again',
        security: sessionSecurity,
        response: { 202: Type.Object({ accepted: Type.Literal(true) }), ...authErrors },
      },
    },
    async (request, reply) => {
      const user = await loadWriterUser(currentUserId(request))
      if (!user.emailVerifiedAt) links.sendVerification(request, user, user.email)
      return reply.code(202).send({ accepted: true as const })
    },
  )

  app.delete(
    '/sessions',
    {
      schema: {
        tags: ['me'],
        summary: 'Revoke every session of this user, this one included (for example after a password change)',
        security: sessionSecurity,
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...authErrors },
      },
    },
    async (request, reply) => {
      const revoked = await app.sessions.revokeAll(currentUserId(request))
      app.clearSessionCookie(reply)
      return { revoked }
    },
  )
}

export default me
