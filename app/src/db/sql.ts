/**
 * Plain SQL on the pg pool behind a Prisma client, for the few statements every request runs (the
 * accounts and transactions lists, the transfer call). Prisma costs about 3x a raw `pg` call per
 * query here (query compilation, the driver adapter, result mapping); on a route that is one query
 * that is most of its time. Same pool, so the same connection, wait and statement bounds apply, and
 * the same writer/replica routing: pass the client `request.reader()` or `app.db.writer` returns.
 *
 * A failure is an `SqlError` carrying pg's code (a SQLSTATE, or a socket error's code):
 * platform/dependency-errors.ts maps it to the answers the Prisma path gives (503 for a database
 * that is unreachable or refusing work, 409 for a write conflict that outlived its retries).
 */
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

/** Plain SQL on the pool behind `client` (a client of db/client.ts: the writer or a replica). */
export function sqlOn(client: PrismaClient): Sql {
  const pool = poolOf(client)
  if (!pool) throw new Error('this Prisma client has no pg pool of ours (db/client.ts builds every one)')
  return async <R extends pg.QueryResultRow>(text: string, values: readonly unknown[]) => {
    try {
      return (await pool.query<R>(text, values as unknown[])).rows
    } catch (err) {
      throw new SqlError(err)
    }
  }
}
