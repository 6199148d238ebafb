/** Scratch databases on a PostgreSQL server: made for one run, dropped after it, swept when abandoned. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The machine's PostgreSQL unless TEST_POSTGRES_URL names another server. */
export const DEFAULT_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/** The URL with its password masked, for error messages. */
export function redact(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

/** Runs one statement on a fresh connection and returns its rows. */
export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${redact(url)}: ${(err as Error).message}`)
  }
  try {
    return (await client.query<T>(text, params)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

/** A database made for one run; `drop()` removes it even while a service still holds connections. */
export interface ScratchDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

/**
 * A run id that starts with its start time (base 36), so a sweep can tell an abandoned run from
 * a live concurrent one.
 */
export function newRunId(): string {
  return `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
}

/** Creates an empty database `${prefix}${runId}` on the server behind `adminUrl`. */
export async function createScratchDatabase(
  adminUrl: string,
  prefix: string,
  runId = newRunId(),
): Promise<ScratchDatabase> {
  const name = `${prefix}${runId}`
  await sql(adminUrl, `CREATE DATABASE "${name}"`)
  let dropped = false
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      if (dropped) return
      dropped = true
      await sql(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    },
  }
}

/** True when a run id (see {@link newRunId}) started longer than `olderThanMs` ago. */
export function isStaleRun(runId: string, olderThanMs: number): boolean {
  const started = Number.parseInt(runId.split('_')[0] ?? '', 36)
  return Number.isFinite(started) && Date.now() - started > olderThanMs
}

/**
 * Drops databases named `${prefix}<runId>` whose run started more than `olderThanMs` ago (a run
 * killed before its teardown); returns the run ids it removed so their Redis keys can go too.
 */
export async function sweepStaleDatabases(
  adminUrl: string,
  prefix: string,
  olderThanMs: number,
): Promise<string[]> {
  const like = `${prefix.replaceAll('_', '\\_')}%`
  const rows = await sql<{ datname: string }>(
    adminUrl,
    'SELECT datname FROM pg_database WHERE datname LIKE $1',
    [like],
  )
  const swept: string[] = []
  for (const { datname } of rows) {
    const runId = datname.slice(prefix.length)
    if (!isStaleRun(runId, olderThanMs)) continue
    await sql(adminUrl, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
    swept.push(runId)
  }
  return swept
}
