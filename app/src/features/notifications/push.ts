/** What the outbox relay does with a run's notifications once they are persisted. */
import type { NotificationHub } from './hub.js'
import type { RelayedNotification } from './relay.js'

const MONEY_MOVEMENT = /^(deposit|withdrawal|transfer)\./

/**
 * Pushes a relay run's notifications. A money movement changes the report summaries of each side,
 * the counterparty included, so those are invalidated first (a client that refetches on the push
 * sees the new figures), once per user however many of the batch's events are theirs. A message
 * whose invalidation failed is not pushed (the client replays it); returns how many were not.
 */
export async function pushBatch(
  batch: RelayedNotification[],
  hub: Pick<NotificationHub, 'publishJson'>,
  invalidateReports: (userId: string) => Promise<void>,
): Promise<number> {
  const moneyUsers = new Set(batch.filter((m) => MONEY_MOVEMENT.test(m.type)).map((m) => m.userId))
  const invalidated = new Map([...moneyUsers].map((userId) => [userId, invalidateReports(userId)] as const))
  const results = await Promise.allSettled(
    batch.map(async (item) => {
      if (MONEY_MOVEMENT.test(item.type)) await invalidated.get(item.userId)
      await hub.publishJson(item.userId, item.message)
    }),
  )
  return results.filter((r) => r.status === 'rejected').length
}
