import { describe } from '../App.js'
import { api } from '../lib/api.js'
import { unwrap } from '../lib/errors.js'
import type { LiveNotification } from '../lib/notifications.js'
import { useRead } from '../useRead.js'

type Stored = { id: string; type: string; payload: Record<string, unknown>; createdAt: string }

/** Live notifications of this page, then the stored history. */
export function ActivityView({ live, connected }: { live: LiveNotification[]; connected: boolean }) {
  const history = useRead(
    'notifications',
    () => unwrap(api.GET('/v1/notifications', { params: { query: { limit: 50 } } })),
    live.length,
  )
  const items = (history.data?.items ?? []) as Stored[]
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <p className="muted">{connected ? 'Live updates on' : 'Reconnecting to live updates…'}</p>
      <ul className="list" data-testid="notifications">
        {items.map((n) => (
          <li key={n.id}>
            {describe(n)} <time dateTime={n.createdAt}>{new Date(n.createdAt).toLocaleString()}</time>
          </li>
        ))}
      </ul>
      {items.length === 0 && !history.loading && <p>Nothing yet.</p>}
    </section>
  )
}
