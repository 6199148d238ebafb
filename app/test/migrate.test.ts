import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import pg from 'pg'
import {
  applyMigrations,
  CREATE_TABLE_SQL,
  checksumOf,
  MIGRATION_LOCK_KEY,
  MigrationError,
} from '../src/db/migrate.js'
import { resolveMigrationsDir } from '../src/db/migrate-cli.js'
import {
  databasePerTest,
  migrationsFolder,
  query,
  type TempDatabase,
  tempDatabase,
  writeMigration,
} from './migrate-support.js'

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const repoRoot = join(appRoot, '..')

const first = 'CREATE TABLE "User" (id serial PRIMARY KEY, email text NOT NULL);'
const second =
  'ALTER TABLE "User" ADD COLUMN name text;\nCREATE UNIQUE INDEX "User_email_key" ON "User"(email);'

interface Row {
  id: string
  checksum: string
  finished_at: Date | null
  migration_name: string
  logs: string | null
  rolled_back_at: Date | null
  started_at: Date
  applied_steps_count: number
}

async function history(url: string): Promise<Row[]> {
  return query<Row>(url, 'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name')
}

async function columns(url: string, table: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
    [table],
  )
  return rows.map((r) => r.column_name)
}

describe('applyMigrations', () => {
  let db: TempDatabase
  let folder: ReturnType<typeof migrationsFolder>
  databasePerTest((fresh) => {
    db = fresh
  })

  it('applies migrations in name order and records them the way Prisma does', async () => {
    // Written in reverse so directory order cannot pass for name order.
    folder = migrationsFolder({ '20240102000000_add_name': second, '20240101000000_init': first })
    const result = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })

    expect(result.applied).to.deep.equal(['20240101000000_init', '20240102000000_add_name'])
    expect(await columns(db.url, 'User')).to.deep.equal(['id', 'email', 'name'])
    expect(await columns(db.url, '_prisma_migrations')).to.deep.equal([
      'id',
      'checksum',
      'finished_at',
      'migration_name',
      'logs',
      'rolled_back_at',
      'started_at',
      'applied_steps_count',
    ])
    const rows = await history(db.url)
    expect(rows.map((r) => r.migration_name)).to.deep.equal(result.applied)
    expect(rows[0]?.checksum).to.equal(checksumOf(first))
    expect(rows[0]?.checksum).to.match(/^[0-9a-f]{64}$/)
    for (const row of rows) {
      expect(row.id).to.match(/^[0-9a-f-]{36}$/)
      expect(row.finished_at).to.be.instanceOf(Date)
      expect(row.rolled_back_at).to.equal(null)
      expect(row.applied_steps_count).to.equal(1)
    }
  })

  it('applies only what is new on the next run', async () => {
    folder = migrationsFolder({ '20240101000000_init': first })
    await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    expect((await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })).applied).to.deep.equal(
      [],
    )

    writeMigration(folder.dir, '20240102000000_add_name', second)
    const logs: string[] = []
    const result = await applyMigrations({
      databaseUrl: db.url,
      migrationsDir: folder.dir,
      log: (m) => logs.push(m),
    })
    expect(result.applied).to.deep.equal(['20240102000000_add_name'])
    expect(logs).to.include('applying 20240102000000_add_name')
    expect(await history(db.url)).to.have.length(2)
  })

  it('rolls a failing migration back whole, keeps earlier ones, and retries it once fixed', async () => {
    folder = migrationsFolder({
      '20240101000000_init': first,
      '20240102000000_broken': 'CREATE TABLE "Half" (id int);\nALTER TABLE "Nope" ADD COLUMN x int;',
    })
    const err = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(err).to.be.instanceOf(MigrationError)
    expect(err.message).to.contain('20240102000000_broken').and.contain('"Nope"')
    expect(await columns(db.url, 'Half')).to.deep.equal([])
    expect(await columns(db.url, 'User')).to.deep.equal(['id', 'email'])
    const failed = (await history(db.url)).find((r) => r.migration_name === '20240102000000_broken')
    expect(failed?.finished_at).to.equal(null)
    expect(failed?.rolled_back_at).to.be.instanceOf(Date)
    expect(failed?.logs).to.contain('"Nope"')

    writeMigration(folder.dir, '20240102000000_broken', 'CREATE TABLE "Half" (id int);')
    const retry = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    expect(retry.applied).to.deep.equal(['20240102000000_broken'])
    expect(await columns(db.url, 'Half')).to.deep.equal(['id'])
  })

  it('refuses to run when an applied migration was edited, applying nothing', async () => {
    folder = migrationsFolder({ '20240101000000_init': first })
    await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    writeMigration(folder.dir, '20240101000000_init', `${first}\n-- edited`)
    writeMigration(folder.dir, '20240102000000_add_name', second)

    const err = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(err).to.be.instanceOf(MigrationError)
    expect(err.message).to.contain('changed after they were applied').and.contain('20240101000000_init')
    expect(await columns(db.url, 'User')).to.deep.equal(['id', 'email'])
  })

  it('treats a checkout that only changed line endings as unmodified', async () => {
    folder = migrationsFolder({ '20240101000000_init': `${first}\n-- two lines\n` })
    await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    writeMigration(folder.dir, '20240101000000_init', `${first}\r\n-- two lines\r\n`)
    expect((await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })).applied).to.deep.equal(
      [],
    )
  })

  it('refuses to run while a failed migration is recorded', async () => {
    folder = migrationsFolder({ '20240101000000_init': first, '20240102000000_add_name': second })
    await query(db.url, CREATE_TABLE_SQL)
    await query(
      db.url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at)
       VALUES (gen_random_uuid(), $1, '20240101000000_init', now())`,
      [checksumOf(first)],
    )
    const err = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(err).to.be.instanceOf(MigrationError)
    expect(err.message).to.contain('failed migration').and.contain('20240101000000_init')
    expect(await columns(db.url, 'User')).to.deep.equal([])
  })

  it('applies each migration once when two deploys run at the same time', async () => {
    folder = migrationsFolder({
      // The sleep keeps the first run inside its lock while the second arrives.
      '20240101000000_init': `${first}\nSELECT pg_sleep(0.5);`,
      '20240102000000_add_name': second,
    })
    const waits: string[] = []
    const runs = await Promise.all([
      applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir, log: (m) => waits.push(m) }),
      applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir, log: (m) => waits.push(m) }),
    ])
    const applied = runs.flatMap((r) => r.applied).sort()
    expect(applied).to.deep.equal(['20240101000000_init', '20240102000000_add_name'])
    expect(runs.some((r) => r.applied.length === 0)).to.equal(true)
    expect(waits).to.include('another migration run holds the lock; waiting')
    expect(await history(db.url)).to.have.length(2)
  })

  it('gives up with a clear error when the lock stays taken', async () => {
    folder = migrationsFolder({ '20240101000000_init': first })
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
      const err = await applyMigrations({
        databaseUrl: db.url,
        migrationsDir: folder.dir,
        lockTimeoutMs: 300,
      }).catch((e) => e)
      expect(err).to.be.instanceOf(MigrationError)
      expect(err.message).to.contain('waiting for the migration lock')
    } finally {
      await holder.end()
    }
    expect(await columns(db.url, 'User')).to.deep.equal([])
  })

  it("gives up on a statement stuck behind another transaction's lock, instead of blocking the table", async () => {
    folder = migrationsFolder({ '20240101000000_init': first })
    await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })
    writeMigration(folder.dir, '20240102000000_add_name', second)
    const reader = new pg.Client({ connectionString: db.url })
    await reader.connect()
    try {
      // A long read keeps an ACCESS SHARE lock; ALTER TABLE needs ACCESS EXCLUSIVE.
      await reader.query('BEGIN; SELECT * FROM "User"')
      const started = Date.now()
      const err = await applyMigrations({
        databaseUrl: db.url,
        migrationsDir: folder.dir,
        statementLockTimeoutMs: 300,
      }).catch((e) => e)
      expect(err).to.be.instanceOf(MigrationError)
      expect(err.message).to.contain('20240102000000_add_name').and.contain('lock timeout')
      expect(Date.now() - started).to.be.below(5000)
    } finally {
      await reader.end()
    }
    expect(await columns(db.url, 'User')).to.deep.equal(['id', 'email'])
    expect((await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir })).applied).to.deep.equal(
      ['20240102000000_add_name'],
    )
  })

  it('names the folder that has no migration.sql', async () => {
    folder = migrationsFolder({ '20240101000000_init': first })
    mkdirSync(join(folder.dir, '20240102000000_empty'))
    const err = await applyMigrations({ databaseUrl: db.url, migrationsDir: folder.dir }).catch((e) => e)
    expect(err).to.be.instanceOf(MigrationError)
    expect(err.message).to.contain('20240102000000_empty has no migration.sql')
  })
})

describe('db:migrate command', () => {
  const cli = join(appRoot, 'src/db/migrate-cli.ts')
  const tsx = join(repoRoot, 'node_modules/.bin/tsx')

  it('applies MIGRATIONS_DIR to DATABASE_URL and exits 0', async () => {
    const db = await tempDatabase()
    const folder = migrationsFolder({ '20240101000000_init': first })
    try {
      const run = spawnSync(tsx, [cli], {
        env: { ...process.env, DATABASE_URL: db.url, MIGRATIONS_DIR: folder.dir },
        encoding: 'utf8',
      })
      expect(run.status, run.stderr).to.equal(0)
      expect(run.stdout).to.contain('applying 20240101000000_init').and.contain('1 applied')
      expect(await columns(db.url, 'User')).to.deep.equal(['id', 'email'])
    } finally {
      folder.remove()
      await db.drop()
    }
  })

  it('exits 1 with one line when DATABASE_URL is missing', () => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const run = spawnSync(tsx, [cli], { env, encoding: 'utf8' })
    expect(run.status).to.equal(1)
    expect(run.stderr.trim()).to.equal('[migrate] DATABASE_URL is not set')
  })

  it('finds prisma/migrations from the working directory first, then from the app package', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cwd-'))
    try {
      mkdirSync(join(cwd, 'prisma', 'migrations'), { recursive: true })
      expect(resolveMigrationsDir({}, cwd)).to.equal(join(cwd, 'prisma', 'migrations'))
      expect(resolveMigrationsDir({ MIGRATIONS_DIR: 'custom' }, cwd)).to.equal(join(cwd, 'custom'))
      // From app/ (or anywhere else) the repository's own folder is found above the app package.
      rmSync(join(cwd, 'prisma'), { recursive: true })
      expect(resolveMigrationsDir({}, cwd)).to.equal(join(repoRoot, 'prisma', 'migrations'))
      expect(resolveMigrationsDir({}, appRoot)).to.equal(join(repoRoot, 'prisma', 'migrations'))
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })
})
