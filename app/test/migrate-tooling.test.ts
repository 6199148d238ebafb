// The dev-time migration commands (scripts/schema-engine), run the way a developer runs them, on
// fixture schemas and migrations in a temporary folder.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { ADMIN_URL, query, writeMigration } from './migrate-support.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..')
const tsx = join(repoRoot, 'node_modules/.bin/tsx')
// Every database the commands create starts with this, so the tests can check that none is left.
const prefix = `t${process.pid}_`

const schema = `datasource db {
  provider = "postgresql"
}

model Item {
  id    Int    @id @default(autoincrement())
  title String
}
`
const init = `-- CreateTable
CREATE TABLE "Item" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,

    CONSTRAINT "Item_pkey" PRIMARY KEY ("id")
);
`

function run(script: 'drift' | 'create-migration', dir: string, ...args: string[]) {
  return spawnSync(
    tsx,
    [
      join(repoRoot, 'scripts/schema-engine', `${script}.ts`),
      '--schema',
      join(dir, 'schema.prisma'),
      '--migrations',
      join(dir, 'migrations'),
      ...args,
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, MIGRATION_SERVER_URL: ADMIN_URL, SCHEMA_ENGINE_DB_PREFIX: prefix },
    },
  )
}

async function leftoverDatabases(): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    ADMIN_URL,
    `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
    [prefix],
  )
  return rows.map((r) => r.datname)
}

describe('migration tooling (schema engine)', function () {
  this.timeout(60_000)
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'schema-'))
    writeFileSync(join(dir, 'schema.prisma'), schema)
    writeMigration(join(dir, 'migrations'), '20240101000000_init', init)
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('db:drift passes when the migrations produce the schema, and leaves no database behind', async () => {
    const result = run('drift', dir)
    expect(result.status, result.stderr).to.equal(0)
    expect(result.stdout).to.contain('drift: none; 1 migration(s)')
    expect(await leftoverDatabases()).to.deep.equal([])
  })

  it('db:drift fails and lists the difference when the schema changed without a migration', async () => {
    writeFileSync(
      join(dir, 'schema.prisma'),
      schema.replace('title String', 'title String\n  done  Boolean @default(false)'),
    )
    const result = run('drift', dir)
    expect(result.status).to.equal(1)
    expect(result.stderr).to.contain('Added column `done`').and.contain('ALTER TABLE "Item" ADD COLUMN')
    expect(await leftoverDatabases()).to.deep.equal([])
  })

  it('db:drift fails when a migration creates something the schema does not have', () => {
    writeMigration(
      join(dir, 'migrations'),
      '20240102000000_extra',
      'CREATE INDEX "Item_title_idx" ON "Item"("title");',
    )
    const result = run('drift', dir)
    expect(result.status).to.equal(1)
    expect(result.stderr).to.contain('Item_title_idx')
  })

  it('db:drift fails when the committed migrations do not apply to an empty database', () => {
    writeMigration(
      join(dir, 'migrations'),
      '20240102000000_broken',
      'ALTER TABLE "Missing" ADD COLUMN x int;',
    )
    const result = run('drift', dir)
    expect(result.status).to.equal(1)
    expect(result.stderr).to.contain('do not apply').and.contain('20240102000000_broken')
  })

  it('db:migration:create writes the missing migration, after which drift passes', async () => {
    writeFileSync(join(dir, 'schema.prisma'), schema.replace('title String', 'title String @unique'))
    const created = run('create-migration', dir, '--name', 'Unique titles')
    expect(created.status, created.stderr).to.equal(0)

    const folders = readdirSync(join(dir, 'migrations')).filter((f) => !f.endsWith('.toml'))
    expect(folders).to.have.length(2)
    const added = folders.sort()[1] ?? ''
    expect(added).to.match(/^\d{14}_unique_titles$/)
    const sql = readFileSync(join(dir, 'migrations', added, 'migration.sql'), 'utf8')
    expect(sql).to.contain('CREATE UNIQUE INDEX "Item_title_key" ON "Item"("title")')
    expect(run('drift', dir).status).to.equal(0)
    expect(await leftoverDatabases()).to.deep.equal([])

    const again = run('create-migration', dir, '--name', 'nothing')
    expect(again.status).to.equal(0)
    expect(again.stdout).to.contain('no changes')
    expect(readdirSync(join(dir, 'migrations')).filter((f) => !f.endsWith('.toml'))).to.have.length(2)
  })

  it('db:migration:create names the new folder after the latest one, even when that one is in the future', () => {
    rmSync(join(dir, 'migrations'), { recursive: true })
    writeMigration(join(dir, 'migrations'), '29991231235959_init', init)
    writeFileSync(join(dir, 'schema.prisma'), schema.replace('title String', 'title String?'))
    const created = run('create-migration', dir, '--name', 'optional-title')
    expect(created.status, created.stderr).to.equal(0)
    expect(readdirSync(join(dir, 'migrations')).sort()).to.include('30000101000000_optional_title')
  })

  it('db:migration:create without --name explains its usage', () => {
    const result = run('create-migration', dir)
    expect(result.status).to.equal(2)
    expect(result.stderr).to.contain('--name')
  })
})
