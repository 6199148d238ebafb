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

/** A database made for one test. */
export type TempDatabase = Awaited<ReturnType<typeof tempDatabase>>

// Folders made since the last `databasePerTest` clean-up.
const folders = new Set<{ remove: () => void }>()

/** Writes `{ name: sql }` as Prisma-layout migration folders under a new temp dir. */
export function migrationsFolder(migrations: Record<string, string>): { dir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'migrations-'))
  const dir = join(root, 'migrations')
  mkdirSync(dir)
  for (const [name, text] of Object.entries(migrations)) writeMigration(dir, name, text)
  const folder = { dir, remove: () => rmSync(root, { recursive: true, force: true }) }
  folders.add(folder)
  return folder
}

/**
 * Registers the suite's hooks: a fresh database before each test (handed to `fresh`), dropped
 * after it together with every migrations folder the test wrote.
 */
export function databasePerTest(fresh: (db: TempDatabase) => void): void {
  let db: TempDatabase | undefined
  beforeEach(async () => {
    db = await tempDatabase()
    fresh(db)
  })
  afterEach(async () => {
    for (const folder of folders) folder.remove()
    folders.clear()
    await db?.drop()
  })
}

/** Adds or overwrites one migration folder. */
export function writeMigration(dir: string, name: string, text: string): void {
  mkdirSync(join(dir, name), { recursive: true })
  writeFileSync(join(dir, name, 'migration.sql'), text)
}

/** Runs one query against a database URL. */
export const query = sql
