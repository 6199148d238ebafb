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
  return cursorAt(row.createdAt.toISOString(), row.id)
}

/** The cursor of a row by its position, the instant already in ISO 8601 (`toISOString`'s form). */
export function cursorAt(createdAtIso: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAtIso, id])).toString('base64url')
}

/**
 * A page answered as JSON text: items already serialised (by the database, in the route's schema),
 * `limit + 1` of them fetched so a next page shows. Sent as is: the route's serializer never sees it.
 */
export function jsonPage(rows: { item: string; createdAt: string; id: string }[], limit: number): string {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const next = rows.length > limit && last ? JSON.stringify(cursorAt(last.createdAt, last.id)) : 'null'
  return `{"items":[${page.map((row) => row.item).join(',')}],"nextCursor":${next}}`
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
