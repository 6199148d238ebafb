/**
 * The role bootstrap (app/src/db/bootstrap.ts) on a real PostgreSQL, with a master made like RDS's: a login role
 * with CREATEROLE that owns the database, not a superuser. Roles log in by trust here; on RDS the same roles log
 * in with IAM tokens (rds_iam), which cannot run on this machine. The SQL is the same.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { sql, withDatabase } from '../../scripts/kit/index.js'
import { BOOTSTRAP_MASTER_PASSWORD_ENV, DB_APP_ROLE, DB_MIGRATOR_ROLE, ENV } from '../src/contract.js'
import { bootstrapRoles } from '../src/db/bootstrap.js'
import { bootstrapConnection } from '../src/db/bootstrap-cli.js'
import { applyMigrations } from '../src/db/migrate.js'
import { services } from './helpers/services.js'

const migrationsDir = new URL('../../prisma/migrations', import.meta.url).pathname
const master = `bp_master_${services.runId}`

/** URL of `database` on the machine's server, as `role` (trust auth). */
const as = (role: string, database: string) => {
  const u = new URL(withDatabase(services.adminUrl, database))
  u.username = role
  return u.toString()
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const bootstrap = (database: string) => withClient(as(master, database), bootstrapRoles)

/** SQLSTATE of a refused statement, or 'allowed'. */
const outcome = (url: string, text: string) =>
  withClient(url, (c) => c.query(text)).then(
    () => 'allowed',
    (err: { code?: string }) => String(err.code),
  )

/** Objects of schema public and who owns them. */
const owners = (database: string) =>
  sql<{ owner: string; n: number }>(
    withDatabase(services.adminUrl, database),
    `SELECT owner, count(*)::int AS n FROM (
       SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace
       UNION ALL SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
       UNION ALL SELECT pg_get_userbyid(typowner) FROM pg_type WHERE typnamespace = 'public'::regnamespace
       UNION ALL SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public') o
     GROUP BY owner ORDER BY owner`,
  )

describe('database roles bootstrap: migrator owns the schema, the master is needed once', function () {
  this.timeout(60_000)
  const existing = `${services.databaseName}_boot_existing`
  const fresh = `${services.databaseName}_boot_fresh`
  let extraMigrations: string

  before(async () => {
    await sql(services.adminUrl, `CREATE ROLE "${master}" LOGIN CREATEROLE`)
    for (const db of [existing, fresh])
      await sql(services.adminUrl, `CREATE DATABASE "${db}" OWNER "${master}"`)
    // A database deployed before this change: every migration applied by the master, which owns it all.
    await applyMigrations({ databaseUrl: as(master, existing), migrationsDir })
    // The committed migrations plus one the migrator will apply later.
    extraMigrations = mkdtempSync(join(tmpdir(), 'bootstrap-migrations-'))
    cpSync(migrationsDir, extraMigrations, { recursive: true })
    mkdirSync(join(extraMigrations, '29991231000000_after_bootstrap'))
    writeFileSync(
      join(extraMigrations, '29991231000000_after_bootstrap', 'migration.sql'),
      'CREATE TABLE "bootstrap_probe" ("id" SERIAL PRIMARY KEY, "note" TEXT NOT NULL);\nALTER TABLE "users" ADD COLUMN "probe" INTEGER;\n',
    )
  })

  after(async () => {
    for (const db of [existing, fresh])
      await sql(services.adminUrl, `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`)
    await sql(services.adminUrl, `DROP ROLE IF EXISTS "${master}"`)
    rmSync(extraMigrations, { recursive: true, force: true })
  })

  it('hands every master-owned object of an existing database to the migrator', async () => {
    // PostgreSQL 15+ gives schema public to pg_database_owner (the master, as owner of the database).
    expect((await owners(existing)).map((o) => o.owner)).to.deep.equal([master, 'pg_database_owner'])
    const { reassigned } = await bootstrap(existing)
    expect(reassigned).to.include.members([
      'schema public',
      'table public._prisma_migrations',
      'table public.users',
      'type public."FundingSource"',
    ])
    expect(reassigned.some((r) => r.startsWith('routine public.post_funding('))).to.equal(true)
    expect((await owners(existing)).map((o) => o.owner)).to.deep.equal([DB_MIGRATOR_ROLE])
  })

  it('is a no-op the second time', async () => {
    expect(await bootstrap(existing)).to.deep.equal({ createdRoles: [], reassigned: [] })
  })

  it('lets the migrator change the schema and run later migrations; the app role gets rows only', async () => {
    const migrator = as(DB_MIGRATOR_ROLE, existing)
    expect(
      await outcome(
        migrator,
        'CREATE TABLE scratch (id int); ALTER TABLE scratch ADD COLUMN x int; DROP TABLE scratch',
      ),
    ).to.equal('allowed')
    const { applied } = await applyMigrations({ databaseUrl: migrator, migrationsDir: extraMigrations })
    expect(applied).to.deep.equal(['29991231000000_after_bootstrap'])
    const app = as(DB_APP_ROLE, existing)
    // Default privileges set for the migrator reach the table it just created.
    expect(await outcome(app, `INSERT INTO bootstrap_probe (note) VALUES ('x')`)).to.equal('allowed')
    expect(await outcome(app, 'SELECT probe FROM users LIMIT 1')).to.equal('allowed')
    // 42501 insufficient_privilege: no DDL for the service's role, on old or new tables.
    for (const ddl of [
      'CREATE TABLE sneaky (id int)',
      'ALTER TABLE bootstrap_probe ADD COLUMN y int',
      'DROP TABLE bootstrap_probe',
      'ALTER TABLE users DROP COLUMN probe',
      'DELETE FROM _prisma_migrations',
    ]) {
      expect(await outcome(app, ddl), ddl).to.equal('42501')
    }
  })

  it('bootstraps an empty database first, then the migrator applies every migration from scratch', async () => {
    await bootstrap(fresh)
    const { applied } = await applyMigrations({ databaseUrl: as(DB_MIGRATOR_ROLE, fresh), migrationsDir })
    expect(applied.length).to.be.greaterThan(5)
    expect((await owners(fresh)).map((o) => o.owner)).to.deep.equal([DB_MIGRATOR_ROLE])
    const app = as(DB_APP_ROLE, fresh)
    expect(await outcome(app, `SELECT count(*) FROM users`)).to.equal('allowed')
    expect(await outcome(app, 'ALTER TABLE users ADD COLUMN x int')).to.equal('42501')
    expect(await bootstrap(fresh)).to.deep.equal({ createdRoles: [], reassigned: [] })
  })

  it('the bootstrap task connects to the writer as the master with the injected password only', async () => {
    const config = await bootstrapConnection({
      [ENV.databaseUrl]:
        'postgresql://blueprint@blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com:5432/blueprint?sslmode=verify-full',
      [BOOTSTRAP_MASTER_PASSWORD_ENV]: 'from-the-managed-secret',
    })
    expect(config).to.include({
      user: 'blueprint',
      password: 'from-the-managed-secret',
      database: 'blueprint',
    })
    expect(config.ssl).to.have.property('rejectUnauthorized', true)
    let missing = ''
    await bootstrapConnection({ [ENV.databaseUrl]: 'postgresql://blueprint@127.0.0.1/x' }).catch(
      (e: Error) => {
        missing = e.message
      },
    )
    expect(missing).to.match(/DATABASE_MASTER_PASSWORD is not set/)
  })
})
