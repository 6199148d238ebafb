/** What the outbox relay does with a run's notifications once they are persisted. */
import type { NotificationHub } from './hub.js'
import type { RelayedNotification } from './relay.js'

const MONEY_MOVEMENT = /^(deposit|withdrawal|transfer)\./

/**
 * Pushes a relay run's notifications, each user's in id order. A money movement changes the report
 * summaries of each side, the counterparty included, so those are invalidated first (a client that
 * refetches on the push sees the new figures), once per user however many of the run's events are
 * theirs. A failed invalidation (reported by `invalidateReports` itself) still pushes: nothing
 * would send those events later, and a stream that saw a later id would skip them on reconnect.
 * Returns how many could not be pushed.
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
      if (items.some((item) => MONEY_MOVEMENT.test(item.type)))
        await invalidateReports(userId).catch(() => {})
      // Sent in order to the one master that owns the user's channel (NotificationHub.publishJson).
      const pushed = await Promise.allSettled(items.map((item) => hub.publishJson(userId, item.message)))
      return pushed.filter((r) => r.status === 'rejected').length
    }),
  )
  return failed.reduce((a, b) => a + b, 0)
}
