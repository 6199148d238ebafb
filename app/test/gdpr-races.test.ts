import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { RELAY_LOCK_KEY } from '../src/features/notifications/relay.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { startS3, type TestS3 } from './helpers/s3.js'
import { services } from './helpers/services.js'
import { bearer, login } from './helpers/users.js'
import { openAccount } from './transactions.support.js'

// Found in review: an erasure deleted what it could see, so work that committed while it ran (a
// relay run moving the user's events, a transfer to them) kept a notification or a description.
describe('GDPR erasure racing work in flight', () => {
  let s3: TestS3
  let app: FastifyInstance
  let db: pg.Client
  before(async () => {
    s3 = await startS3()
    // No relay of its own: the tests play one, holding its transaction open.
    app = await buildTestApp({ ...s3.env, OUTBOX_RELAY_ENABLED: 'false' })
    db = new pg.Client({ connectionString: services.databaseUrl })
    await db.connect()
  })
  after(async () => {
    await db?.end()
    await app?.close()
    await s3?.close()
  })

  type User = Awaited<ReturnType<typeof login>>
  const pause = () => new Promise((resolve) => setTimeout(resolve, 200))
  const startErasure = (user: User) =>
    app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { password: user.password },
    })

  /** The user to erase and a peer, an account each, `funded` holding 1000. */
  async function twoAccounts(funded: 'user' | 'peer') {
    const user = await login(app)
    const peer = await login(app)
    const account = await openAccount(app, user.token)
    const peerAccount = await openAccount(app, peer.token)
    await fundAccount(app, funded === 'user' ? account : peerAccount, 1000)
    return { user, peer, account, peerAccount }
  }

  /** Starts the erasure while `db` holds an open transaction, commits it 200 ms later, and waits. */
  async function eraseWhileOpen(user: User) {
    const erasure = startErasure(user)
    await pause()
    await db.query('COMMIT')
    const res = await erasure
    expect(res.statusCode, res.body).to.equal(200)
  }

  const count = async (table: 'notifications' | 'outbox_events', userId: string) =>
    (await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [userId])).rows[0].n

  it('a relay run that moved the user’s events while the erasure ran leaves no notification', async () => {
    const user = await login(app)
    await db.query('BEGIN')
    await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [RELAY_LOCK_KEY])
    await db.query(`INSERT INTO notifications (user_id, type, payload) VALUES ($1, 'security.login', '{}')`, [
      user.user.id,
    ])
    await eraseWhileOpen(user)
    expect(await count('notifications', user.user.id)).to.equal(0)
  })

  it('a transfer to the user that commits while the erasure runs keeps neither its description nor its events', async () => {
    const { user, peer, account, peerAccount } = await twoAccounts('peer')
    await db.query('BEGIN')
    const posted = await db.query(
      `SELECT post_transaction($1::uuid, 'race-1', 'h', 'transfer', 10, 'EUR', $2::uuid, $3::uuid, 'rent for Erin') AS r`,
      [peer.user.id, peerAccount, account],
    )
    const id = posted.rows[0].r.body.transaction.id as string
    await eraseWhileOpen(user)
    const row = await db.query('SELECT description FROM transactions WHERE id = $1', [id])
    expect(row.rows[0].description).to.equal(null)
    expect(await count('outbox_events', user.user.id)).to.equal(0)
  })

  it('a transfer of the user that waited for the erasure’s locks is refused after it', async () => {
    const { user, account, peerAccount } = await twoAccounts('user')
    // Something holds the user's account: the erasure queues for it, then the user's transfer
    // (authenticated before the erasure revoked its session) queues behind the erasure.
    await db.query('BEGIN')
    await db.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [account])
    const erasure = startErasure(user)
    await pause()
    const sender = new pg.Client({ connectionString: services.databaseUrl })
    await sender.connect()
    try {
      const transfer = sender.query(
        `SELECT post_transaction($1::uuid, 'late-1', 'h', 'transfer', 10, 'EUR', $2::uuid, $3::uuid, 'late rent from Erin') AS r`,
        [user.user.id, account, peerAccount],
      )
      await pause()
      await db.query('COMMIT')
      expect((await erasure).statusCode).to.equal(200)
      expect((await transfer).rows[0].r).to.deep.include({
        outcome: 'account_not_found',
        field: 'fromAccountId',
      })
    } finally {
      await sender.end()
    }
    const left = await db.query(
      `SELECT count(*)::int AS n FROM transactions WHERE description = 'late rent from Erin'`,
    )
    expect(left.rows[0].n).to.equal(0)
    expect(await count('outbox_events', user.user.id)).to.equal(0)
  })

  it('the relay drops an event of an erased user, counting it as moved (a full batch still means more)', async () => {
    const user = await login(app)
    await db.query('BEGIN')
    await eraseWhileOpen(user)
    await db.query(`INSERT INTO outbox_events (user_id, type, payload) VALUES ($1, 'transfer.in', '{}')`, [
      user.user.id,
    ])
    const waiting = (await db.query('SELECT count(*)::int AS n FROM outbox_events')).rows[0].n
    expect(await app.notifications.relay.runOnce()).to.equal(waiting)
    expect(await count('outbox_events', user.user.id)).to.equal(0)
    expect(await count('notifications', user.user.id)).to.equal(0)
  })
})
