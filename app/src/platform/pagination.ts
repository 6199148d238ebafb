/**
 * Keyset pagination for newest-first lists ordered by (createdAt desc, id desc): stable under
 * concurrent inserts, unlike offsets. The cursor is opaque to clients.
 */
import { badRequest } from './errors.js'
import { isInRange, isUuid } from './schemas.js'

/** A row's position in a newest-first list. */
export interface Position {
  createdAt: Date
  id: string
}

/** Prisma `where` fragment selecting the rows after `cursor` (older ones); none without a cursor. */
export function olderThan(cursor: string | undefined) {
  if (!cursor) return {}
  const after = decodeCursor(cursor)
  return {
    OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
  }
}

/** The position a cursor names (400 for one this API did not return): for plain SQL keyset queries. */
export function cursorPosition(cursor: string): Position {
  return decodeCursor(cursor)
}

/** Turns the `limit + 1` rows a query fetched into one page and the cursor of the next one. */
export function toPage<R extends Position, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): { items: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return { items: page.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last) : null }
}

function encodeCursor(row: Position): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url')
}

function decodeCursor(cursor: string): Position {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [unknown, unknown]
    // A forged cursor must not reach the query: an invalid instant or uuid would fail there (500).
    const createdAt = new Date(typeof at === 'string' ? at : Number.NaN)
    if (!isInRange(createdAt.getTime()) || !isUuid(id)) throw new Error('bad cursor')
    return { createdAt, id }
  } catch {
    throw badRequest('Invalid cursor', [{ field: 'cursor', message: 'is not a cursor this API returned' }])
  }
}
