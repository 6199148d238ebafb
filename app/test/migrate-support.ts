// Throwaway databases and migration folders for the migration tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createScratchDatabase, DEFAULT_ADMIN_URL, sql } from '../../scripts/kit/postgres.js'

/** Server the tests create their databases on; overridable for machines with PostgreSQL elsewhere. */
export const ADMIN_URL = DEFAULT_ADMIN_URL

/** Creates an empty database with a unique name; returns its URL and a drop function. */
export function tempDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  return createScratchDatabase(ADMIN_URL, 'migrate_test_')
}

/** Writes `{ name: sql }` as Prisma-layout migration folders under a new temp dir. */
export function migrationsFolder(migrations: Record<string, string>): { dir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'migrations-'))
  const dir = join(root, 'migrations')
  mkdirSync(dir)
  for (const [name, text] of Object.entries(migrations)) writeMigration(dir, name, text)
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
}

/** Adds or overwrites one migration folder. */
export function writeMigration(dir: string, name: string, text: string): void {
  mkdirSync(join(dir, name), { recursive: true })
  writeFileSync(join(dir, name, 'migration.sql'), text)
}

/** Runs one query against a database URL. */
export const query = sql
