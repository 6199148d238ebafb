import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { sweepIdempotencyKeys } from '../src/features/accounts/idempotency-retention.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { login } from './helpers/users.js'
import { dbClient, openAccount, post } from './transactions.support.js'

describe('idempotency records: retention', () => {
  let app: FastifyInstance | undefined

  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  /** Backdates one user's record for `key` by `hours`. */
  async function age(userId: string, key: string, hours: number) {
    const db = await dbClient()
    try {
      await db.query(
        `UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $3) WHERE user_id = $1 AND key = $2`,
        [userId, key, hours],
      )
    } finally {
      await db.end()
    }
  }

  async function keysOf(userId: string): Promise<string[]> {
    const db = await dbClient()
    try {
      const { rows } = await db.query('SELECT key FROM idempotency_keys WHERE user_id = $1 ORDER BY key', [
        userId,
      ])
      return rows.map((r) => r.key as string)
    } finally {
      await db.end()
    }
  }

  it('deletes records older than the retention and keeps the others; an expired key is a new request', async () => {
    app = await buildTestApp()
    const user = await login(app)
    const account = await openAccount(app, user.token)
    await fundAccount(app, account, 1000)
    const body = { type: 'withdrawal', amount: '5', currency: 'EUR', fromAccountId: account }
    const first = await post(app, user.token, body, 'key-old')
    expect(first.statusCode).to.equal(201)
    expect((await post(app, user.token, body, 'key-new')).statusCode).to.equal(201)
    await age(user.user.id, 'key-old', 169)

    expect(await sweepIdempotencyKeys(app.prisma, 168)).to.equal(1)
    expect(await keysOf(user.user.id)).to.deep.equal(['key-new'])

    const retried = await post(app, user.token, body, 'key-old')
    expect(retried.statusCode).to.equal(201)
    expect(retried.json().transaction.id).to.not.equal(first.json().transaction.id)
  })

  it('deletes in batches until nothing expired is left', async () => {
    app = await buildTestApp()
    const user = await login(app)
    const account = await openAccount(app, user.token)
    await fundAccount(app, account, 1000)
    const body = { type: 'withdrawal', amount: '1', currency: 'EUR', fromAccountId: account }
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      expect((await post(app, user.token, body, key)).statusCode).to.equal(201)
      await age(user.user.id, key, 500)
    }
    expect(await sweepIdempotencyKeys(app.prisma, 168, 2)).to.equal(5)
    expect(await keysOf(user.user.id)).to.deep.equal([])
  })

  it('sweeps on its own at the configured interval', async () => {
    app = await buildTestApp({ IDEMPOTENCY_SWEEP_INTERVAL_MS: '100', IDEMPOTENCY_RETENTION_HOURS: '1' })
    const user = await login(app)
    const account = await openAccount(app, user.token)
    await fundAccount(app, account, 1000)
    const body = { type: 'withdrawal', amount: '1', currency: 'EUR', fromAccountId: account }
    expect((await post(app, user.token, body, 'stale')).statusCode).to.equal(201)
    await age(user.user.id, 'stale', 2)
    const deadline = Date.now() + 3000
    while ((await keysOf(user.user.id)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(await keysOf(user.user.id)).to.deep.equal([])
  })
})
