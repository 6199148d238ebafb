import { expect } from 'chai'
import { applyMigrations, MigrationError, NO_TRANSACTION_MARKER, splitStatements } from '../src/db/migrate.js'
import {
  databasePerTest,
  migrationsFolder,
  query,
  type TempDatabase,
  writeMigration,
} from './migrate-support.js'

const table = 'CREATE TABLE "Item" (id serial PRIMARY KEY, sku text NOT NULL);'
const concurrently = `${NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "Item_sku_idx" ON "Item"(sku);\n`

describe('migrations outside a transaction (CREATE INDEX CONCURRENTLY)', () => {
  let db: TempDatabase
  let folder: ReturnType<typeof migrationsFolder>
  databasePerTest((fresh) => {
    db = fresh
  })

  it('applies a marked migration statement by statement and records it finished, the index valid', async () => {
    folder = migrationsFolder({ '1_items': table, '2_items_sku_idx': concurrently })
    const { applied } = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    expect(applied).to.deep.equal(['1_items', '2_items_sku_idx'])
    const [index] = await query<{ indisvalid: boolean }>(
      db.url,
      `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'Item_sku_idx'`,
    )
    expect(index?.indisvalid).to.equal(true)
    const [row] = await query<{ finished_at: Date | null; applied_steps_count: number }>(
      db.url,
      `SELECT finished_at, applied_steps_count FROM _prisma_migrations WHERE migration_name = '2_items_sku_idx'`,
    )
    expect(row?.finished_at).to.be.instanceOf(Date)
    expect(row?.applied_steps_count).to.equal(1)
  })

  it('without the marker the same statement fails inside the transaction and is rolled back', async () => {
    folder = migrationsFolder({
      '1_items': table,
      '2_items_sku_idx': concurrently.replace(NO_TRANSACTION_MARKER, ''),
    })
    const error = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(error).to.be.instanceOf(MigrationError)
    expect(String(error.message)).to.include('cannot run inside a transaction block')
  })

  it('leaves a failed one recorded unfinished, so the next run refuses until it is repaired', async () => {
    folder = migrationsFolder({ '1_items': table })
    await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    await query(db.url, `INSERT INTO "Item" (sku) VALUES ('a'), ('a')`)
    writeMigration(
      folder.dir,
      '2_items_sku_key',
      `${NO_TRANSACTION_MARKER}\nCREATE UNIQUE INDEX CONCURRENTLY "Item_sku_key" ON "Item"(sku);\n`,
    )
    const failed = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(String(failed.message)).to.include('NOT rolled back')
    const [row] = await query<{ finished_at: Date | null; rolled_back_at: Date | null; logs: string }>(
      db.url,
      `SELECT finished_at, rolled_back_at, logs FROM _prisma_migrations WHERE migration_name = '2_items_sku_key'`,
    )
    expect(row?.finished_at).to.equal(null)
    expect(row?.rolled_back_at).to.equal(null)
    expect(row?.logs).to.include('could not create unique index')
    const again = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(String(again.message)).to.include('failed migration(s) recorded')
  })

  it('splits at semicolons that end a line and drops comment lines', () => {
    const statements = splitStatements(
      `${NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY a ON t(x);\n-- why\nCREATE INDEX CONCURRENTLY b ON t(y);`,
    )
    expect(statements).to.deep.equal([
      'CREATE INDEX CONCURRENTLY a ON t(x)',
      'CREATE INDEX CONCURRENTLY b ON t(y)',
    ])
  })
})
