/** What the outbox relay does with a run's notifications once they are persisted. */
import type { NotificationHub } from './hub.js'
import type { RelayedNotification } from './relay.js'

const MONEY_MOVEMENT = /^(deposit|withdrawal|transfer)\./

/**
 * Pushes a relay run's notifications, each user's in id order (a stream that saw a later id and
 * reconnects with it would skip an earlier one pushed after it). A money movement changes the
 * report summaries of each side, the counterparty included, so those are invalidated first (a
 * client that refetches on the push sees the new figures), once per user however many of the
 * run's events are theirs. When that fails, none of the user's events of this run is pushed: the
 * stream replays them after the last id it saw. Returns how many were not pushed.
 */
export async function pushBatch(
  batch: RelayedNotification[],
  hub: Pick<NotificationHub, 'publishJson'>,
  invalidateReports: (userId: string) => Promise<void>,
): Promise<number> {
  const byUser = new Map<string, RelayedNotification[]>()
  for (const item of batch) {
    const items = byUser.get(item.userId)
    if (items) items.push(item)
    else byUser.set(item.userId, [item])
  }
  const failed = await Promise.all(
    [...byUser].map(async ([userId, items]) => {
      if (items.some((item) => MONEY_MOVEMENT.test(item.type))) {
        try {
          await invalidateReports(userId)
        } catch {
          return items.length
        }
      }
      // Sent in order on one connection (one channel, one cluster slot), so they arrive in order.
      const pushed = await Promise.allSettled(items.map((item) => hub.publishJson(userId, item.message)))
      return pushed.filter((r) => r.status === 'rejected').length
    }),
  )
  return failed.reduce((a, b) => a + b, 0)
}
