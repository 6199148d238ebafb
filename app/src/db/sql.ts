/**
 * Plain SQL on the pg pool behind a Prisma client, for the few statements every request runs (the
 * accounts and transactions lists, the transfer call). Prisma costs about 3x a raw `pg` call per
 * query here (query compilation, the driver adapter, result mapping); on a route that is one query
 * that is most of its time. Same pool, so the same connection, wait and statement bounds apply, and
 * the same writer/replica routing: pass the client `request.reader()` or `app.db.writer` returns.
 *
 * Every statement is sent as a named (prepared) statement: PostgreSQL parses and plans its text
 * once per connection, and pg sends only Bind/Execute on later uses. The text of a hot route's
 * statement is its largest part (the transactions list is ~600 bytes), and parsing and planning it
 * run on the database's cores on every call otherwise. Behind a transaction-mode pooler (RDS Proxy
 * pins such a session; PgBouncer needs `max_prepared_statements`) this would have to be revisited.
 *
 * A failure is an `SqlError` carrying pg's code (a SQLSTATE, or a socket error's code):
 * platform/dependency-errors.ts maps it to the answers the Prisma path gives (503 for a database
 * that is unreachable or refusing work, 409 for a write conflict that outlived its retries).
 */
import { createHash } from 'node:crypto'
import type pg from 'pg'
import type { PrismaClient } from '../generated/prisma/client.js'
import { poolOf } from './client.js'

/** One parameterized statement (one round trip): its rows. */
export type Sql = <R extends pg.QueryResultRow>(text: string, values: readonly unknown[]) => Promise<R[]>

/** A statement sent through `sqlOn` failed; `code` is pg's (SQLSTATE or socket error code). */
export class SqlError extends Error {
  override readonly name = 'SqlError'
  readonly code: string | undefined

  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    const code = (cause as { code?: unknown } | null)?.code
    this.code = typeof code === 'string' ? code : undefined
  }
}

// Statement texts are constants or built from a few optional filters: a handful in all. The bound
// only guards against a caller building texts from data; past it, names are computed each call.
const MAX_NAMED = 256
const names = new Map<string, string>()

/** The prepared statement name of a text: the same text gets the same name in every process. */
export function statementName(text: string): string {
  let name = names.get(text)
  if (name === undefined) {
    name = `sql_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`
    if (names.size < MAX_NAMED) names.set(text, name)
  }
  return name
}

/** Plain SQL on the pool behind `client` (a client of db/client.ts: the writer or a replica). */
export function sqlOn(client: PrismaClient): Sql {
  const pool = poolOf(client)
  if (!pool) throw new Error('this Prisma client has no pg pool of ours (db/client.ts builds every one)')
  return async <R extends pg.QueryResultRow>(text: string, values: readonly unknown[]) => {
    try {
      return (await pool.query<R>({ name: statementName(text), text, values: values as unknown[] })).rows
    } catch (err) {
      throw new SqlError(err)
    }
  }
}
