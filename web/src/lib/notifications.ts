import { apiUrl } from './config.js'

/** One notification as the stream sends it. */
export interface LiveNotification {
  id: string
  type: string
  payload: Record<string, unknown>
  createdAt?: string
}

// The stream names each event by type; EventSource only hands named events to their listeners.
const TYPES = [
  'deposit.received',
  'withdrawal.completed',
  'transfer.in',
  'transfer.out',
  'security.login',
  'upload.completed',
]
const LAST_ID = 'blueprint.notifications.lastEventId'

/**
 * Subscribes to the SSE stream. EventSource reconnects by itself and sends Last-Event-ID then; the
 * last id is also kept in sessionStorage and sent as ?lastEventId= when the page is opened again,
 * so a reload replays what was missed. Returns the unsubscribe function.
 */
export function subscribe(
  onEvent: (n: LiveNotification) => void,
  onState: (connected: boolean) => void,
): () => void {
  const last = sessionStorage.getItem(LAST_ID)
  const url = new URL(`${apiUrl}/v1/notifications/stream`)
  if (last) url.searchParams.set('lastEventId', last)
  const source = new EventSource(url, { withCredentials: true })
  const handle = (event: MessageEvent<string>) => {
    if (event.lastEventId) sessionStorage.setItem(LAST_ID, event.lastEventId)
    const data = JSON.parse(event.data) as Partial<LiveNotification>
    onEvent({
      id: event.lastEventId,
      type: event.type === 'message' ? (data.type ?? 'message') : event.type,
      payload: (data.payload ?? data) as Record<string, unknown>,
      createdAt: data.createdAt,
    })
  }
  for (const type of [...TYPES, 'message']) source.addEventListener(type, handle)
  source.onopen = () => onState(true)
  source.onerror = () => onState(source.readyState === EventSource.OPEN)
  return () => source.close()
}

/** Forgets the resume point (logout, erasure). */
export function forgetNotifications(): void {
  sessionStorage.removeItem(LAST_ID)
}
