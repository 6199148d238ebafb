// The service's database role (prisma/migrations/*_app_role): it reads and writes rows and posts money through
// the ledger function, and it cannot change the schema. Runs against this run's migrated database.
import { expect } from 'chai'
import pg from 'pg'
import { services } from './helpers/services.js'

/** This run's database, connected as the application role (trust auth locally; IAM tokens on RDS). */
function asAppRole(): pg.Client {
  const u = new URL(services.databaseUrl)
  u.username = 'blueprint_app'
  u.password = ''
  return new pg.Client({ connectionString: u.toString() })
}

const refused = async (client: pg.Client, sql: string) => {
  try {
    await client.query(sql)
  } catch (err) {
    return (err as { code?: string }).code
  }
  return 'allowed'
}

describe('application database role (blueprint_app)', () => {
  let app: pg.Client
  before(async () => {
    app = asAppRole()
    await app.connect()
  })
  after(async () => {
    await app.end()
  })

  it('is a plain login role: no superuser, no CREATEDB, no CREATEROLE', async () => {
    const { rows } = await app.query(
      `SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user`,
    )
    expect(rows).to.deep.equal([{ rolsuper: false, rolcreatedb: false, rolcreaterole: false }])
  })

  it('reads and writes rows and posts a funding through the ledger function', async () => {
    const email = `role-${services.runId}-${Date.now()}@example.test`
    const user = await app.query(
      `INSERT INTO users (email, password_hash, name, updated_at) VALUES ($1, 'x', 'Role Test', now()) RETURNING id`,
      [email],
    )
    const userId = user.rows[0].id as string
    const account = await app.query(
      `INSERT INTO accounts (user_id, currency) VALUES ($1, 'EUR') RETURNING id`,
      [userId],
    )
    const accountId = account.rows[0].id as string
    const posted = await app.query(
      // Money enters only through post_funding() (the signed webhook or the treasury operation).
      `SELECT post_funding('provider'::"FundingSource", $1, 'hash', $2::uuid, 500::bigint, 'EUR', 'role test', NULL, NULL, 1000::bigint, 10000::bigint) AS result`,
      [`evt-${services.runId}-${Date.now()}`, accountId],
    )
    expect(posted.rows[0].result).to.be.an('object')
    const balance = await app.query(`SELECT balance FROM accounts WHERE id = $1`, [accountId])
    expect(Number(balance.rows[0].balance)).to.equal(500)
    await app.query(`UPDATE users SET name = 'Renamed' WHERE id = $1`, [userId])
  })

  it('cannot DROP, ALTER, TRUNCATE or CREATE, and cannot touch the migration history', async () => {
    // 42501: insufficient_privilege (also raised for "must be owner of table").
    expect(await refused(app, 'DROP TABLE transactions')).to.equal('42501')
    expect(await refused(app, 'ALTER TABLE users ADD COLUMN x int')).to.equal('42501')
    expect(await refused(app, 'TRUNCATE accounts')).to.equal('42501')
    expect(await refused(app, 'CREATE TABLE sneaky (id int)')).to.equal('42501')
    expect(await refused(app, 'DROP FUNCTION post_transaction')).to.equal('42501')
    expect(await refused(app, 'DELETE FROM _prisma_migrations')).to.equal('42501')
  })
})
