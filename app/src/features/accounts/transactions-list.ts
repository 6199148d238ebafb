/**
 * The statement behind GET /v1/transactions: a user's transactions, newest first, keyset-paged.
 *
 * A user's rows are those they send (from_user_id) or receive (to_user_id). `WHERE from = u OR
 * to = u ORDER BY ... LIMIT n` makes PostgreSQL collect and sort every row of the user (a bitmap
 * OR of both indexes) before it can stop; two index scans that each stop after n rows, merged, read
 * at most 2n whatever the history's length. The second leaves out what the first has already
 * (a transfer between two accounts of the same user).
 */
import type { Position } from '../../platform/pagination.js'

/** Filters of one page. */
export interface ListFilters {
  limit: number
  accountId?: string | undefined
  /** Created at or after. */
  from?: Date | undefined
  /** Created before. */
  to?: Date | undefined
  /** The last row of the previous page: rows older than it. */
  after?: Position | undefined
}

const COLUMNS = 'id, type, amount, currency, from_account_id, to_account_id, description, created_at'
// Each item as the route answers it (TransactionSchema), built by the database: the page's rows are
// forwarded as they come, without parsing them into objects and serialising them again (twenty of
// them cost the service more than the query). row_to_json writes compact JSON (json_build_object
// would put spaces around every colon). The cursor's position comes along as text.
const CREATED_AT = `to_char(page.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
const ITEM = `row_to_json(item)::text AS item, item."createdAt", item.id`
const ITEM_OF_PAGE = `CROSS JOIN LATERAL (SELECT page.id, page.type, page.amount::text AS amount, page.currency,
  page.from_account_id AS "fromAccountId", page.to_account_id AS "toAccountId", page.description,
  ${CREATED_AT} AS "createdAt") item`

/** One row of the page query: the item as JSON, and its position for the cursor. */
export interface ListedRow {
  item: string
  createdAt: string
  id: string
}

/** Text and parameters of the page query (limit + 1 rows of `ListedRow`, so the caller can tell there is more). */
export function listQuery(owner: string, filters: ListFilters): { text: string; values: unknown[] } {
  const values: unknown[] = [owner]
  const param = (value: unknown) => {
    values.push(value)
    return `$${values.length}`
  }
  const conditions: string[] = []
  if (filters.accountId) {
    const account = param(filters.accountId)
    conditions.push(`(from_account_id = ${account} OR to_account_id = ${account})`)
  }
  if (filters.from) conditions.push(`created_at >= ${param(filters.from)}`)
  if (filters.to) conditions.push(`created_at < ${param(filters.to)}`)
  if (filters.after) {
    conditions.push(
      `(created_at, id) < (${param(filters.after.createdAt)}, ${param(filters.after.id)}::uuid)`,
    )
  }
  const rest = conditions.map((c) => ` AND ${c}`).join('')
  const take = param(filters.limit + 1)
  const order = 'ORDER BY created_at DESC, id DESC'
  const text = `SELECT ${ITEM} FROM (
  (SELECT ${COLUMNS} FROM transactions WHERE from_user_id = $1${rest} ${order} LIMIT ${take})
  UNION ALL
  (SELECT ${COLUMNS} FROM transactions
    WHERE to_user_id = $1 AND from_user_id IS DISTINCT FROM $1${rest} ${order} LIMIT ${take})
) page ${ITEM_OF_PAGE} ORDER BY page.created_at DESC, page.id DESC LIMIT ${take}`
  return { text, values }
}
