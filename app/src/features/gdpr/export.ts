/**
 * The GDPR data export (Art. 15 and 20): everything the service holds about one user, as one JSON
 * document. Read from the writer so a user who just changed something sees it in the export.
 */
import type { Cluster, Redis } from 'ioredis'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { toPublicUser } from '../auth/schemas.js'
import { sessionKeys } from '../auth/sessions.js'
import { toMessage } from '../notifications/message.js'

/** What is known about one live session (never the token, which the service does not keep). */
export interface SessionMetadata {
  /** First 12 hex characters of the token's SHA-256: enough to tell sessions apart. */
  id: string
  createdAt: string | null
  expiresAt: string | null
}

/**
 * Live sessions of a user, read from the session store's key layout (features/auth/sessions.ts):
 * the user's index lists token hashes, each session hash holds its creation time and its TTL.
 */
export async function sessionMetadata(redis: Redis | Cluster, userId: string): Promise<SessionMetadata[]> {
  const ids = await redis.smembers(sessionKeys.index(userId))
  const sessions = await Promise.all(
    ids.map(async (id): Promise<SessionMetadata | undefined> => {
      const key = sessionKeys.session(userId, id)
      const [created, ttl] = await Promise.all([redis.hget(key, 'created'), redis.pttl(key)])
      if (created === null) return undefined
      return {
        id: id.slice(0, 12),
        createdAt: new Date(Number(created)).toISOString(),
        expiresAt: ttl > 0 ? new Date(Date.now() + ttl).toISOString() : null,
      }
    }),
  )
  return sessions.filter((s): s is SessionMetadata => s !== undefined)
}

/** Builds the export document; `undefined` when the user does not exist. */
export async function exportUserData(db: PrismaClient, redis: Redis | Cluster, userId: string) {
  const user = await db.user.findUnique({ where: { id: userId } })
  if (!user) return undefined
  const [accounts, transactions, fundings, uploads, notifications, activity, idempotencyKeys, sessions] =
    await Promise.all([
      db.account.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
      db.transaction.findMany({
        where: { OR: [{ fromUserId: userId }, { toUserId: userId }] },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      }),
      db.funding.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
      db.upload.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
      db.notification.findMany({ where: { userId }, orderBy: { id: 'asc' } }),
      db.userActivity.findMany({ where: { userId }, orderBy: { day: 'asc' } }),
      db.idempotencyKey.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } }),
      sessionMetadata(redis, userId),
    ])
  return {
    exportedAt: new Date().toISOString(),
    profile: toPublicUser(user),
    preferences: user.preferences as Record<string, unknown>,
    accounts: accounts.map((a) => ({
      id: a.id,
      currency: a.currency,
      name: a.name,
      balance: a.balance.toString(),
      createdAt: a.createdAt.toISOString(),
    })),
    transactions: transactions.map((t) => ({
      id: t.id,
      type: t.type,
      amount: t.amount.toString(),
      currency: t.currency,
      fromAccountId: t.fromAccountId,
      toAccountId: t.toAccountId,
      description: t.description,
      createdAt: t.createdAt.toISOString(),
    })),
    // Money that came in from a provider or the treasury. Not the admin's id: someone else's data.
    fundings: fundings.map((f) => ({
      id: f.id,
      source: f.source,
      accountId: f.accountId,
      amount: f.amount.toString(),
      currency: f.currency,
      transactionId: f.transactionId,
      reason: f.reason,
      createdAt: f.createdAt.toISOString(),
    })),
    uploads: uploads.map((u) => ({
      id: u.id,
      fileName: u.fileName,
      contentType: u.contentType,
      size: u.size,
      status: u.status,
      createdAt: u.createdAt.toISOString(),
      completedAt: u.completedAt?.toISOString() ?? null,
    })),
    notifications: notifications.map((n) => {
      const { userId: _owner, ...message } = toMessage(n)
      return message
    }),
    sessions,
    activityDays: activity.map((a) => a.day.toISOString().slice(0, 10)),
    idempotencyKeys: idempotencyKeys.map((k) => ({
      key: k.key,
      statusCode: k.statusCode,
      transactionId: k.transactionId,
      createdAt: k.createdAt.toISOString(),
    })),
  }
}

/** The export document's type. */
export type UserExport = NonNullable<Awaited<ReturnType<typeof exportUserData>>>
