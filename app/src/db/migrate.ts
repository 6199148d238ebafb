import { createHash, randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { connectionConfig } from './connection.js'

/** Options for {@link applyMigrations}. */
export interface ApplyMigrationsOptions {
  /** PostgreSQL connection string of the database to migrate (TLS and user as connection.ts reads them). */
  databaseUrl: string
  /** Sign an RDS IAM token for the URL's user (the migrator role on RDS) instead of a password. @default false */
  iamAuth?: boolean
  /** Folder holding one sub-folder per migration, each with a `migration.sql` (Prisma's layout). */
  migrationsDir: string
  /** Progress lines; silent when omitted. */
  log?: (msg: string) => void
  /** How long to wait for another deploy's migration lock before giving up. @default 120000 */
  lockTimeoutMs?: number
  /**
   * PostgreSQL `lock_timeout` for the migration statements themselves. A DDL statement queued behind a
   * long transaction blocks every later query on that table, so it gives up instead and the deploy
   * can be retried; a migration may still `SET LOCAL lock_timeout` itself. 0 waits forever.
   * @default 10000
   */
  statementLockTimeoutMs?: number
}

/** A migration found on disk. */
export interface MigrationFile {
  name: string
  sql: string
  checksum: string
  /** Runs statement by statement outside a transaction (see {@link NO_TRANSACTION_MARKER}). */
  noTransaction: boolean
}

/**
 * A line of its own in a migration.sql that makes the runner apply it outside a transaction, one
 * statement at a time: what `CREATE INDEX CONCURRENTLY` (and `ALTER TYPE ... ADD VALUE` on old
 * servers) require. Such a migration cannot be rolled back, so keep it to one idempotent statement
 * (`CREATE INDEX CONCURRENTLY IF NOT EXISTS ...`); docs/migrations.md says how to repair a failed one.
 */
export const NO_TRANSACTION_MARKER = '-- migrate: no-transaction'

const NO_TRANSACTION_LINE = /^--\s*migrate:\s*no-transaction\s*$/m

/** The statements of a no-transaction migration: split at semicolons that end a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((statement) =>
      statement
        .split(/\r?\n/)
        .filter((line) => !/^\s*--/.test(line))
        .join('\n')
        .trim(),
    )
    .filter(Boolean)
}

/**
 * The advisory lock key `prisma migrate` itself takes, so this runner and the Prisma CLI also
 * exclude each other.
 */
export const MIGRATION_LOCK_KEY = 72707369

const TABLE = '_prisma_migrations'

// Same definition the Prisma schema engine creates, so `prisma migrate status|deploy` read our history.
export const CREATE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS "${TABLE}" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

interface HistoryRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
  logs: string | null
}

/** Thrown when the database history and the migration files disagree; nothing was applied. */
export class MigrationError extends Error {
  override name = 'MigrationError'
}

/** sha256 (hex) of a migration script, the checksum Prisma records. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

/** Reads `<dir>/<name>/migration.sql` for every migration folder, in name order. */
export function readMigrations(migrationsDir: string): MigrationFile[] {
  if (!existsSync(migrationsDir)) throw new MigrationError(`migrations folder not found: ${migrationsDir}`)
  const names = readdirSync(migrationsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    // Byte order, not locale order: the timestamp prefixes must sort the same on every machine.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return names.map((name) => {
    const file = join(migrationsDir, name, 'migration.sql')
    if (!existsSync(file)) throw new MigrationError(`migration ${name} has no migration.sql (${file})`)
    const sql = readFileSync(file, 'utf8')
    return { name, sql, checksum: checksumOf(sql), noTransaction: NO_TRANSACTION_LINE.test(sql) }
  })
}

// Prisma accepts a script whose line endings changed (a checkout with autocrlf) as unmodified.
function matchesChecksum(file: MigrationFile, recorded: string): boolean {
  if (file.checksum === recorded) return true
  return (
    checksumOf(file.sql.replace(/\r\n/g, '\n')) === recorded ||
    checksumOf(file.sql.replace(/\n/g, '\r\n')) === recorded
  )
}

/**
 * Applies every committed migration not yet recorded in `_prisma_migrations`, in name order, each in
 * its own transaction (or statement by statement when it carries {@link NO_TRANSACTION_MARKER}), under a PostgreSQL advisory lock so concurrent deploys apply each one once.
 * Refuses to run when an applied migration was edited or a failed migration is recorded.
 */
export async function applyMigrations(opts: ApplyMigrationsOptions): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {})
  const files = readMigrations(opts.migrationsDir)
  const client = new pg.Client({
    ...connectionConfig(opts.databaseUrl, opts.iamAuth ?? false),
    connectionTimeoutMillis: 10_000,
  })
  await client.connect()
  try {
    await acquireLock(client, opts.lockTimeoutMs ?? 120_000, log)
    try {
      await client.query(CREATE_TABLE_SQL)
      const history = (
        await client.query<HistoryRow>(
          `SELECT migration_name, checksum, finished_at, rolled_back_at, logs FROM "${TABLE}" ORDER BY started_at`,
        )
      ).rows
      const pending = plan(files, history, log)
      const applied: string[] = []
      for (const file of pending) {
        const apply = file.noTransaction ? applyOutsideTransaction : applyOne
        await apply(client, file, opts.statementLockTimeoutMs ?? 10_000, log)
        applied.push(file.name)
      }
      log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date')
      return { applied }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
    }
  } finally {
    await client.end()
  }
}

// pg_try_advisory_lock in a loop rather than pg_advisory_lock: a bounded wait with a clear message,
// without changing the session's lock_timeout that the migrations themselves run under.
async function acquireLock(client: pg.Client, timeoutMs: number, log: (msg: string) => void) {
  const deadline = Date.now() + timeoutMs
  let announced = false
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      MIGRATION_LOCK_KEY,
    ])
    if (rows[0]?.locked) return
    if (!announced) {
      log('another migration run holds the lock; waiting')
      announced = true
    }
    if (Date.now() >= deadline) {
      throw new MigrationError(
        `timed out after ${timeoutMs} ms waiting for the migration lock (${MIGRATION_LOCK_KEY})`,
      )
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Decides what to apply; throws before anything runs when history and files disagree. */
function plan(files: MigrationFile[], history: HistoryRow[], log: (msg: string) => void): MigrationFile[] {
  const live = history.filter((row) => row.rolled_back_at === null)
  const failed = live.filter((row) => row.finished_at === null)
  if (failed.length) {
    const names = failed.map((row) => row.migration_name).join(', ')
    throw new MigrationError(
      `failed migration(s) recorded in ${TABLE}: ${names}. Repair the database by hand, then mark each as ` +
        `rolled back (UPDATE "${TABLE}" SET rolled_back_at = now() WHERE migration_name = '...' AND finished_at IS NULL) ` +
        'or as applied, and run again.',
    )
  }
  const byName = new Map(files.map((f) => [f.name, f]))
  const done = new Set<string>()
  const edited: string[] = []
  for (const row of live) {
    done.add(row.migration_name)
    const file = byName.get(row.migration_name)
    if (!file) log(`warning: ${row.migration_name} is applied but missing from the migrations folder`)
    else if (!matchesChecksum(file, row.checksum)) edited.push(row.migration_name)
  }
  if (edited.length) {
    throw new MigrationError(
      `migration(s) changed after they were applied: ${edited.join(', ')}. ` +
        'Restore the committed file(s) and put the change in a new migration.',
    )
  }
  return files.filter((f) => !done.has(f.name))
}

async function applyOne(
  client: pg.Client,
  file: MigrationFile,
  lockTimeoutMs: number,
  log: (msg: string) => void,
) {
  const id = randomUUID()
  const startedAt = new Date()
  log(`applying ${file.name}`)
  try {
    await client.query('BEGIN')
    await client.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`)
    await client.query(file.sql)
    await client.query(
      `INSERT INTO "${TABLE}" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, now(), 1)`,
      [id, file.checksum, file.name, startedAt],
    )
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    const message = err instanceof Error ? err.message : String(err)
    // The transaction undid the script, so the attempt is recorded as rolled back: visible in the
    // history, and the next run retries the (fixed) file instead of refusing to start.
    await client
      .query(
        `INSERT INTO "${TABLE}" (id, checksum, migration_name, started_at, logs, rolled_back_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, $5, now(), 0)`,
        [id, file.checksum, file.name, startedAt, message],
      )
      .catch(() => {})
    throw new MigrationError(`migration ${file.name} failed and was rolled back: ${message}`, { cause: err })
  }
}

/**
 * Applies a no-transaction migration: recorded as started (not finished) first, so a crash or a
 * failure half-way stays visible and the next run refuses until someone repairs it by hand.
 */
async function applyOutsideTransaction(
  client: pg.Client,
  file: MigrationFile,
  lockTimeoutMs: number,
  log: (msg: string) => void,
) {
  const id = randomUUID()
  log(`applying ${file.name} (outside a transaction)`)
  await client.query(
    `INSERT INTO "${TABLE}" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
    [id, file.checksum, file.name],
  )
  const statements = splitStatements(file.sql)
  try {
    await client.query(`SET lock_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`)
    for (const [step, statement] of statements.entries()) {
      await client.query(statement)
      await client.query(`UPDATE "${TABLE}" SET applied_steps_count = $2 WHERE id = $1`, [id, step + 1])
    }
    await client.query(`UPDATE "${TABLE}" SET finished_at = now() WHERE id = $1`, [id])
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    await client.query(`UPDATE "${TABLE}" SET logs = $2 WHERE id = $1`, [id, message]).catch(() => {})
    throw new MigrationError(
      `migration ${file.name} failed outside a transaction and was NOT rolled back: ${message}. ` +
        'Undo its partial effect (an INVALID index from CREATE INDEX CONCURRENTLY must be dropped), then ' +
        `mark it rolled back (UPDATE "${TABLE}" SET rolled_back_at = now() WHERE id = '${id}') and run again.`,
      { cause: err },
    )
  } finally {
    await client.query('RESET lock_timeout').catch(() => {})
  }
}
