// Throwaway databases and migration folders for the migration tests.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Server the tests create their databases on; overridable for machines with PostgreSQL elsewhere. */
export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Creates an empty database with a unique name; returns its URL and a drop function. */
export async function tempDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `migrate_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}: ${(err as Error).message}`)
  }
  await admin.query(`CREATE DATABASE "${name}"`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await c.end()
    },
  }
}

/** Writes `{ name: sql }` as Prisma-layout migration folders under a new temp dir. */
export function migrationsFolder(migrations: Record<string, string>): { dir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'migrations-'))
  const dir = join(root, 'migrations')
  mkdirSync(dir)
  for (const [name, sql] of Object.entries(migrations)) writeMigration(dir, name, sql)
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
}

/** Adds or overwrites one migration folder. */
export function writeMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name), { recursive: true })
  writeFileSync(join(dir, name, 'migration.sql'), sql)
}

/** Runs one query against a database URL. */
export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query<T>(sql, params)).rows
  } finally {
    await c.end()
  }
}
