/**
 * The role bootstrap against an RDS-like server: a scratch PostgreSQL cluster of its own (rds_iam is cluster-wide,
 * so it must not be created on the shared server), where a superuser stands in for rdsadmin, `rds_iam` exists, and
 * the master is a CREATEROLE login that owns the database, not a superuser. Then the committed migrations run as
 * the migrator, as the deploy does. This machine runs PostgreSQL 15; what 16+ changes is in the bootstrap's doc
 * and docs/runbooks/database-credentials.md.
 */
import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { freePort } from '../../scripts/kit/net.js'
import { DB_APP_ROLE, DB_MASTER_USER, DB_MIGRATOR_ROLE } from '../src/contract.js'
import { BootstrapGrantRefused, bootstrapRoles } from '../src/db/bootstrap.js'
import { applyMigrations } from '../src/db/migrate.js'

// The newest server installed (Debian/Ubuntu layout): 15 here, 16+ on newer runners, where the test then
// exercises PostgreSQL 16's ADMIN OPTION rule too. None installed: the suite is skipped, saying so.
const BIN = (() => {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(`${root}/${v}/bin/initdb`))
        .sort((a, b) => Number(b) - Number(a))
    : []
  return versions[0] ? `${root}/${versions[0]}/bin` : undefined
})()
const migrationsDir = new URL('../../prisma/migrations', import.meta.url).pathname

/** Runs a server binary as the postgres user (initdb and pg_ctl refuse root). */
function asPostgres(cmd: string, args: string[]): void {
  const root = userInfo().uid === 0
  const r = spawnSync(
    root ? 'runuser' : `${BIN}/${cmd}`,
    root ? ['-u', 'postgres', '--', `${BIN}/${cmd}`, ...args] : args,
    {
      encoding: 'utf8',
    },
  )
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`)
}

describe('database roles bootstrap on an RDS-like server (rds_iam, a CREATEROLE master)', function () {
  this.timeout(120_000)
  let dir: string
  let port: number
  const url = (user: string, database = 'postgres') => `postgresql://${user}@127.0.0.1:${port}/${database}`
  async function run<T>(user: string, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: url(user, database) })
    await client.connect()
    try {
      return await fn(client)
    } finally {
      await client.end()
    }
  }
  const admin = (text: string, database = 'postgres') => run('postgres', database, (c) => c.query(text))
  const iamMembers = () =>
    run('postgres', 'postgres', async (c) => {
      const { rows } = await c.query<{ member: string; admin: boolean }>(
        `SELECT pg_get_userbyid(member) AS member, admin_option AS admin FROM pg_auth_members
          WHERE roleid = to_regrole('rds_iam') ORDER BY 1`,
      )
      return Object.fromEntries(rows.map((r) => [r.member, r.admin]))
    })

  before(async function () {
    if (!BIN) {
      console.log('      (no PostgreSQL server binaries under /usr/lib/postgresql: skipped)')
      this.skip()
    }
    dir = mkdtempSync(join(tmpdir(), 'pg-rds-like-'))
    if (userInfo().uid === 0) {
      const pgUser = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()
      chownSync(dir, Number(pgUser), Number(pgUser))
    }
    port = await freePort()
    asPostgres('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8'])
    asPostgres('pg_ctl', [
      '-D',
      join(dir, 'data'),
      '-l',
      join(dir, 'log'),
      '-w',
      'start',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ])
    // As on RDS: rdsadmin (here the superuser) owns rds_iam and rds_superuser; the master is a CREATEROLE,
    // CREATEDB login in rds_superuser, which may grant rds_iam (AWS's IAM-auth setup runs GRANT rds_iam as it).
    for (const statement of [
      'CREATE ROLE rds_superuser NOLOGIN',
      'CREATE ROLE rds_iam NOLOGIN',
      'GRANT rds_iam TO rds_superuser WITH ADMIN OPTION',
      `CREATE ROLE ${DB_MASTER_USER} LOGIN CREATEROLE CREATEDB NOSUPERUSER`,
      `GRANT rds_superuser TO ${DB_MASTER_USER}`,
      `CREATE DATABASE first OWNER ${DB_MASTER_USER}`,
      `CREATE DATABASE second OWNER ${DB_MASTER_USER}`,
    ])
      await admin(statement)
  })

  after(() => {
    if (!dir) return
    try {
      asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the master bootstraps, then the committed migrations run as the migrator and re-grant rds_iam', async () => {
    const result = await run(DB_MASTER_USER, 'first', bootstrapRoles)
    expect(result.createdRoles).to.have.members([DB_MIGRATOR_ROLE, DB_APP_ROLE])
    expect(await iamMembers()).to.include({ [DB_APP_ROLE]: false, [DB_MIGRATOR_ROLE]: true })

    const { applied } = await applyMigrations({ databaseUrl: url(DB_MIGRATOR_ROLE, 'first'), migrationsDir })
    expect(applied).to.include('20261201200000_app_role')
    const owner = await run('postgres', 'first', (c) =>
      c.query<{ owner: string }>(
        `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'users'`,
      ),
    )
    expect(owner.rows[0]?.owner).to.equal(DB_MIGRATOR_ROLE)
    // The service's role reads rows and may not change the schema.
    await run(DB_APP_ROLE, 'first', (c) => c.query('SELECT count(*) FROM users'))
    const drop = await run(DB_APP_ROLE, 'first', (c) => c.query('DROP TABLE users')).then(
      () => 'allowed',
      (e: { code?: string }) => String(e.code),
    )
    expect(drop).to.equal('42501')
    // A second run changes nothing.
    expect(await run(DB_MASTER_USER, 'first', bootstrapRoles)).to.deep.equal({
      createdRoles: [],
      reassigned: [],
    })
  })

  it('a master that may not grant rds_iam gets the statement to run instead; after it, the chain completes', async () => {
    // The migrator lost ADMIN OPTION, and the master cannot grant rds_iam (PostgreSQL 15 refuses a CREATEROLE
    // grant of a superuser role: the way to make the refusal PostgreSQL 16+ gives without ADMIN OPTION happen here).
    await admin(`REVOKE ADMIN OPTION FOR rds_iam FROM ${DB_MIGRATOR_ROLE}`)
    await admin('ALTER ROLE rds_iam SUPERUSER')
    try {
      const refused = await run(DB_MASTER_USER, 'second', bootstrapRoles).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(refused).to.be.instanceOf(BootstrapGrantRefused)
      const statement = (refused as BootstrapGrantRefused).statement
      expect(statement).to.equal(`GRANT rds_iam TO "${DB_MIGRATOR_ROLE}" WITH ADMIN OPTION`)
      expect((refused as Error).message)
        .to.contain(statement)
        .and.to.contain('ADMIN OPTION on rds_iam')
      // Nothing half-done: the transaction rolled back.
      expect(await iamMembers()).to.include({ [DB_MIGRATOR_ROLE]: false })
      await admin(statement)
      // The bootstrap now skips the grants that exist (it never repeats one it may not make).
      await run(DB_MASTER_USER, 'second', bootstrapRoles)
    } finally {
      await admin('ALTER ROLE rds_iam NOSUPERUSER')
    }
    const { applied } = await applyMigrations({ databaseUrl: url(DB_MIGRATOR_ROLE, 'second'), migrationsDir })
    expect(applied).to.include('20261201200000_app_role')
  })
})
