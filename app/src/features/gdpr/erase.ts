/**
 * The GDPR erasure (Art. 17). Personal data is deleted; ledger rows that other users' balances
 * and the accounting record depend on are kept but no longer identify anyone (docs/gdpr.md).
 *
 * Order, so a failure at any step leaves a state a retry completes (the caller revokes every
 * session first, so no request of the user adds data meanwhile):
 *   1. delete every object under the user's S3 prefix;
 *   2. one database transaction: delete uploads, notifications, outbox events, idempotency records
 *      activity days and the second factor (TOTP secret, recovery codes); blank transaction
 *      descriptions, funding reasons and account names; anonymise the user row
 *      (email, name, password hash, profile, preferences) and stamp deleted_at.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { Storage } from '../../platform/storage/s3.js'
import { tokensKey } from '../auth/account-tokens.js'
import { hashedEmail } from '../auth/email.js'
import { accountLockKey, devicesKey } from '../auth/lockout.js'
import { RELAY_LOCK_KEY } from '../notifications/relay.js'

/** Counts of what one erasure removed or anonymised. */
export interface ErasureSummary {
  objectsDeleted: number
  uploadsDeleted: number
  notificationsDeleted: number
  transactionsAnonymised: number
  fundingsAnonymised: number
  accountsKept: number
}

/** The placeholder address of an erased user: unique, and in a reserved domain nobody can own. */
export const erasedEmail = (userId: string) => `erased-${userId}@erased.invalid`

/** Steps 1 and 2 of the erasure; the caller revokes sessions before and drops caches after. */
export async function eraseUserData(
  db: PrismaClient,
  storage: Storage,
  userId: string,
): Promise<ErasureSummary> {
  // The whole prefix, not only the recorded keys: it also catches an object whose record was
  // never written or already deleted.
  const objectsDeleted = await storage.deletePrefix(Storage.userPrefix(userId))

  return db.$transaction(async (tx) => {
    const uploadsDeleted = await tx.upload.deleteMany({ where: { userId } })
    // Their stored responses repeat transaction bodies, descriptions included.
    await tx.idempotencyKey.deleteMany({ where: { userId } })
    await tx.userActivity.deleteMany({ where: { userId } })
    // The second factor: the TOTP secret and the recovery code hashes.
    await tx.mfaRecoveryCode.deleteMany({ where: { userId } })
    await tx.userMfa.deleteMany({ where: { userId } })
    const blankDescriptions = () =>
      tx.transaction.updateMany({
        where: { OR: [{ fromUserId: userId }, { toUserId: userId }], description: { not: null } },
        data: { description: null },
      })
    // The bulk of the work first, before any lock others wait on.
    const transactionsAnonymised = await blankDescriptions()
    // Free text too: a treasury reason or a provider reference may name the person ("refund for
    // Jane's rent"). The funding row itself stays: it is the ledger's audit and replay record.
    const blankReasons = () =>
      tx.funding.updateMany({ where: { userId, reason: { not: null } }, data: { reason: null } })
    const fundingsAnonymised = await blankReasons()
    // Then the user's accounts, in id order as post_transaction() takes them: a transfer to or
    // from them still in flight commits first, and one that comes later waits and then finds the
    // user erased. What those in flight left is cleared again below; from here to the commit the
    // work is small, so the locks are held briefly.
    await tx.$queryRaw`SELECT 1 FROM accounts WHERE user_id = ${userId}::uuid ORDER BY id FOR UPDATE`
    const accounts = await tx.account.updateMany({ where: { userId }, data: { name: null } })
    const lateDescriptions = await blankDescriptions()
    const lateFundings = await blankReasons()
    await tx.idempotencyKey.deleteMany({ where: { userId } })
    // The relay's turn last: a run moving the user's events commits first (its notifications are
    // deleted here), and later runs wait for this commit and then drop them (the user is erased).
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RELAY_LOCK_KEY}::bigint)`
    const notificationsDeleted = await tx.notification.deleteMany({ where: { userId } })
    await tx.outboxEvent.deleteMany({ where: { userId } })
    await tx.user.update({
      where: { id: userId },
      data: {
        email: erasedEmail(userId),
        name: 'Erased user',
        // Not a hash any password can match (verifyPassword rejects malformed hashes); random so
        // two erased rows never share a value.
        passwordHash: `erased$${randomUUID()}`,
        locale: null,
        timezone: null,
        avatarUrl: null,
        preferences: {},
        role: 'user',
        deletedAt: new Date(),
      },
    })
    return {
      objectsDeleted,
      uploadsDeleted: uploadsDeleted.count,
      notificationsDeleted: notificationsDeleted.count,
      transactionsAnonymised: transactionsAnonymised.count + lateDescriptions.count,
      fundingsAnonymised: fundingsAnonymised.count + lateFundings.count,
      accountsKept: accounts.count,
    }
  })
}

/**
 * Step 3: what Redis keeps about the user beyond sessions and caches: pending mail tokens (they may
 * hold an address), known devices, the day's count of wrong second-factor answers, and the per-address rate-limit and lockout counters (keyed by the
 * address' hash, still personal data). One DEL per key: they live in different cluster slots.
 */
export async function forgetInRedis(app: FastifyInstance, userId: string, email: string): Promise<void> {
  const hashed = hashedEmail(email)
  await Promise.all([
    app.redis.del(tokensKey(userId)),
    app.redis.del(devicesKey(userId)),
    app.mfa.failures.clear(userId),
    app.redis.del(accountLockKey(email)),
    app.forgetLimit('register-account', hashed),
    app.forgetLimit('reset-account', hashed),
  ])
}
