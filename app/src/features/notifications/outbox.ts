/**
 * The outbox writer: a notification is first a row in `outbox_events`, written with the change it
 * announces (same database transaction when a transaction client is given), so a crash can never
 * announce a change that did not happen or lose one that did.
 */
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js'

/** Notification types this service emits; other features may add theirs (`upload.completed`). */
export type NotificationType =
  | 'deposit.received'
  | 'withdrawal.completed'
  | 'transfer.in'
  | 'transfer.out'
  | 'security.login'
  | 'upload.completed'
  | (string & {})

/** A Prisma client or the `tx` of `prisma.$transaction(async (tx) => ...)`. */
export type Db = PrismaClient | Prisma.TransactionClient

/** Queues a notification for a user; it is persisted and pushed once the relay picks it up. */
export async function writeOutboxEvent(
  db: Db,
  userId: string,
  type: NotificationType,
  payload: Record<string, unknown>,
): Promise<void> {
  await db.outboxEvent.create({ data: { userId, type, payload: payload as Prisma.InputJsonObject } })
}

/** Age in seconds of the oldest event not yet relayed; 0 when the outbox is empty. */
export async function outboxLagSeconds(db: PrismaClient): Promise<number> {
  const rows = await db.$queryRaw<{ lag: number | null }[]>`
    SELECT extract(epoch FROM now() - min(created_at))::float8 AS lag FROM outbox_events`
  return Math.max(0, Number(rows[0]?.lag ?? 0))
}
