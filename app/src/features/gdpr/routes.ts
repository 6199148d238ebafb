import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { cacheNs } from '../../platform/cache/plugin.js'
import { HttpError, unauthorized } from '../../platform/errors.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { userRef } from '../auth/schemas.js'
import { StepUpFields } from '../mfa/schemas.js'
import { NotificationSchema } from '../notifications/message.js'
import { eraseUserData, forgetInRedis } from './erase.js'
import { exportUserData } from './export.js'

const DateTime = Type.String({ format: 'date-time' })
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

const ExportDocument = Type.Object(
  {
    exportedAt: DateTime,
    profile: userRef,
    preferences: Type.Record(Type.String(), Type.Unknown()),
    accounts: Type.Array(
      Type.Object({
        id: Type.String(),
        currency: Type.String(),
        name: Nullable(Type.String()),
        balance: Type.String({ description: 'Minor units' }),
        createdAt: DateTime,
      }),
    ),
    transactions: Type.Array(
      Type.Object({
        id: Type.String(),
        type: Type.String(),
        amount: Type.String({ description: 'Minor units' }),
        currency: Type.String(),
        fromAccountId: Nullable(Type.String()),
        toAccountId: Nullable(Type.String()),
        description: Nullable(Type.String()),
        createdAt: DateTime,
      }),
    ),
    fundings: Type.Array(
      Type.Object({
        id: Type.String(),
        source: Type.String({
          description: '`provider` (payment webhook) or `treasury` (an admin operation)',
        }),
        accountId: Type.String(),
        amount: Type.String({ description: 'Minor units' }),
        currency: Type.String(),
        transactionId: Type.String(),
        reason: Nullable(
          Type.String({ description: "The provider's reference or the treasury operation's reason" }),
        ),
        createdAt: DateTime,
      }),
      { description: 'Money credited to the user’s accounts from outside the ledger' },
    ),
    uploads: Type.Array(
      Type.Object({
        id: Type.String(),
        fileName: Type.String(),
        contentType: Type.String(),
        size: Type.Integer(),
        status: Type.String(),
        createdAt: DateTime,
        completedAt: Nullable(DateTime),
      }),
    ),
    notifications: Type.Array(NotificationSchema),
    sessions: Type.Array(
      Type.Object({
        id: Type.String({ description: 'Prefix of the session hash (the token itself is never stored)' }),
        createdAt: Nullable(DateTime),
        expiresAt: Nullable(DateTime),
      }),
    ),
    activityDays: Type.Array(Type.String({ format: 'date' })),
    idempotencyKeys: Type.Array(
      Type.Object({
        key: Type.String(),
        statusCode: Type.Integer(),
        transactionId: Nullable(Type.String()),
        createdAt: DateTime,
      }),
    ),
    mfa: Type.Object(
      {
        enabled: Type.Boolean(),
        enabledAt: Nullable(DateTime),
        enrolmentStartedAt: Nullable(DateTime),
        recoveryCodes: Type.Array(Type.Object({ createdAt: DateTime, usedAt: Nullable(DateTime) })),
      },
      { description: 'Two-factor authentication, without the secret or any code' },
    ),
  },
  { description: 'Every piece of data the service holds about the user' },
)

const EraseBody = Type.Object(
  {
    password: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Current password (re-authentication)',
    }),
    ...StepUpFields,
  },
  { additionalProperties: false },
)

const EraseSummary = Type.Object({
  erased: Type.Literal(true),
  objectsDeleted: Type.Integer(),
  uploadsDeleted: Type.Integer(),
  notificationsDeleted: Type.Integer(),
  transactionsAnonymised: Type.Integer(),
  fundingsAnonymised: Type.Integer({ description: 'Fundings of the user whose free-text reason was erased' }),
  accountsKept: Type.Integer({ description: 'Accounts kept, anonymised, for the ledger (see docs/gdpr.md)' }),
  sessionsRevoked: Type.Integer(),
})

/** GDPR: GET /v1/me/export and DELETE /v1/me. Registered in the protected scope. */
const gdpr: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/export',
    {
      schema: {
        tags: ['me', 'gdpr'],
        summary: 'Export every piece of the user’s data as one JSON document',
        security: sessionSecurity,
        response: { 200: ExportDocument, ...authErrors },
      },
    },
    async (request, reply) => {
      // Redis or PostgreSQL being away surfaces as a 503 through the shared error handler.
      const doc = await exportUserData(app.prisma, app.redis, currentUserId(request))
      if (!doc) throw unauthorized('Account no longer exists')
      reply.header('content-disposition', `attachment; filename="export-${doc.profile.id}.json"`)
      reply.header('cache-control', 'no-store')
      return doc
    },
  )

  app.delete(
    '',
    {
      preHandler: app.limit({
        name: 'erase',
        max: 5,
        windowSeconds: 900,
        key: (request) => request.user?.id ?? request.ip,
      }),
      schema: {
        tags: ['me', 'gdpr'],
        summary:
          'Erase the account: re-authenticate with the password (and a second factor when MFA is on); personal data goes, the ledger stays anonymised',
        security: sessionSecurity,
        body: EraseBody,
        response: { 200: EraseSummary, 400: errorRef, 403: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const id = currentUserId(request)
      const user = await app.prisma.user.findUnique({ where: { id } })
      if (!user || user.deletedAt) throw unauthorized('Account no longer exists')
      await app.mfa.stepUp.authorize(request, user, request.body, request.body.password)
      // Sessions first, in one atomic step that also refuses every later login: no session of this
      // user, old or racing, survives the erasure. If a later step fails, the account is reopened,
      // the user logs in again and repeats the request; nothing was erased half-way.
      const sessionsRevoked = await app.sessions.revokeAll(id, { erased: true })
      let summary: Awaited<ReturnType<typeof eraseUserData>>
      try {
        summary = await eraseUserData(app.prisma, app.storage, id)
      } catch (err) {
        await app.sessions.reopen(id).catch(() => undefined)
        if (err instanceof HttpError) throw err
        // S3 refused or is away: nothing in the database changed yet; the client may retry.
        if ((err as { $metadata?: unknown }).$metadata !== undefined) {
          throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'File storage temporarily unavailable, retry later')
        }
        throw err
      }
      await Promise.all([
        app.cache.invalidate(cacheNs.profile(id)),
        app.cache.invalidate(cacheNs.reports(id)),
        forgetInRedis(app, id, user.email),
      ])
      app.clearSessionCookie(reply)
      request.log.info({ userId: id }, 'user erased')
      return { erased: true as const, ...summary, sessionsRevoked }
    },
  )
}

export default gdpr
