/** The shape of one notification on the wire (SSE data, pub/sub message, REST item). */
import { Type } from 'typebox'

/** A notification as clients see it. */
export interface NotificationMessage {
  /** Decimal string of the bigint id; also the SSE event id. */
  id: string
  userId: string
  type: string
  payload: Record<string, unknown>
  createdAt: string
  readAt: string | null
}

export const NotificationSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9]+$', description: 'Increasing id; the SSE event id' }),
    type: Type.String({ examples: ['transfer.in'] }),
    payload: Type.Record(Type.String(), Type.Unknown()),
    createdAt: Type.String({ format: 'date-time' }),
    readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { description: 'A notification; its id is also the SSE event id' },
)

interface NotificationRow {
  id: bigint
  userId: string
  type: string
  payload: unknown
  createdAt: Date
  readAt: Date | null
}

/** Maps a database row to the wire shape. */
export function toMessage(row: NotificationRow): NotificationMessage {
  return {
    id: row.id.toString(),
    userId: row.userId,
    type: row.type,
    payload: row.payload as Record<string, unknown>,
    createdAt: row.createdAt.toISOString(),
    readAt: row.readAt ? row.readAt.toISOString() : null,
  }
}
