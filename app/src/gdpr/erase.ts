/**
 * The GDPR erasure (Art. 17). Personal data is deleted; ledger rows that other users' balances
 * and the accounting record depend on are kept but no longer identify anyone (docs/gdpr.md).
 *
 * Order, so a failure at any step leaves a state a retry completes:
 *   1. delete the user's objects in S3 (absent objects count as deleted);
 *   2. one database transaction: delete uploads, notifications, outbox events, idempotency records
 *      and activity days; blank transaction descriptions and account names; anonymise the user row
 *      (email, name, password hash, profile, preferences) and stamp deleted_at;
 *   3. revoke every session and drop cached data.
 */
import { randomUUID } from 'node:crypto'
import type { PrismaClient } from '../generated/prisma/client.js'
import type { Storage } from '../storage/s3.js'

/** Counts of what one erasure removed or anonymised. */
export interface ErasureSummary {
  objectsDeleted: number
  uploadsDeleted: number
  notificationsDeleted: number
  transactionsAnonymised: number
  accountsKept: number
}

/** The placeholder address of an erased user: unique, and in a reserved domain nobody can own. */
export const erasedEmail = (userId: string) => `erased-${userId}@erased.invalid`

/** Steps 1 and 2 of the erasure; the caller revokes sessions and drops caches afterwards. */
export async function eraseUserData(
  db: PrismaClient,
  storage: Storage,
  userId: string,
): Promise<ErasureSummary> {
  const uploads = await db.upload.findMany({ where: { userId }, select: { key: true } })
  await storage.deleteObjects(uploads.map((u) => u.key))

  return db.$transaction(async (tx) => {
    const uploadsDeleted = await tx.upload.deleteMany({ where: { userId } })
    const notificationsDeleted = await tx.notification.deleteMany({ where: { userId } })
    await tx.outboxEvent.deleteMany({ where: { userId } })
    // Their stored responses repeat transaction bodies, descriptions included.
    await tx.idempotencyKey.deleteMany({ where: { userId } })
    await tx.userActivity.deleteMany({ where: { userId } })
    const transactionsAnonymised = await tx.transaction.updateMany({
      where: { OR: [{ fromUserId: userId }, { toUserId: userId }], description: { not: null } },
      data: { description: null },
    })
    const accounts = await tx.account.updateMany({ where: { userId }, data: { name: null } })
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
      objectsDeleted: uploads.length,
      uploadsDeleted: uploadsDeleted.count,
      notificationsDeleted: notificationsDeleted.count,
      transactionsAnonymised: transactionsAnonymised.count,
      accountsKept: accounts.count,
    }
  })
}
