import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Prisma } from '../../generated/prisma/client.js'
import { cacheNs } from '../../platform/cache/plugin.js'
import { badRequest, unauthorized } from '../../platform/errors.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { ProfileFields, toPublicUser, userRef } from '../auth/schemas.js'

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

/** The signed-in user: profile, preferences and sessions (/v1/me...). Every route needs a session. */
const me: FastifyPluginAsyncTypebox<{ preferencesMaxBytes: number; profileTtlSeconds?: number }> = async (
  app,
  opts,
) => {
  const profileTtl = opts.profileTtlSeconds ?? 300
  // onRequest, before the body is parsed: anonymous callers learn nothing from validation errors.
  app.addHook('onRequest', app.authenticate)

  const loadUser = async (request: FastifyRequest) => {
    const user = await (await request.reader()).user.findUnique({ where: { id: currentUserId(request) } })
    if (!user) throw unauthorized('Account no longer exists')
    return user
  }
  /** Profile and preferences through the cache (cache-aside; PATCH and PUT invalidate it). */
  const cachedProfile = (request: FastifyRequest) =>
    app.cache.getOrLoad(cacheNs.profile(currentUserId(request)), 'profile', profileTtl, async () => {
      const user = await loadUser(request)
      return { user: toPublicUser(user), preferences: user.preferences as Record<string, unknown> }
    })

  app.get(
    '',
    {
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
