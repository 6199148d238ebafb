import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { SIGNATURE_HEADER, signFunding } from '../src/features/accounts/funding-signature.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount, fundingWebhook, TEST_FUNDING_SECRET } from './helpers/funding.js'
import { bearer, login, register } from './helpers/users.js'
import { balanceOf, dbClient, openAccount, post, startInstance } from './transactions.support.js'

describe('funding: money enters only through a signed webhook or a treasury operation', () => {
  let app: FastifyInstance
  let db: pg.Client
  before(async () => {
    app = await buildTestApp({
      OUTBOX_RELAY_ENABLED: 'false',
      REGISTER_MAX_PER_IP: '1000',
      FUNDING_MAX_AMOUNT: '100000',
      FUNDING_DAILY_LIMIT: '150000',
    })
    db = await dbClient()
  })
  after(async () => {
    await app.close()
    await db.end()
  })

  /** Every row a funding could have written for a user. */
  async function footprint(userId: string) {
    const { rows } = await db.query(
      `SELECT (SELECT count(*) FROM transactions WHERE to_user_id = $1)::int AS transactions,
              (SELECT count(*) FROM fundings WHERE user_id = $1)::int AS fundings,
              (SELECT count(*) FROM outbox_events WHERE user_id = $1)::int AS events,
              (SELECT coalesce(sum(balance), 0)::text FROM accounts WHERE user_id = $1) AS balance`,
      [userId],
    )
    return rows[0]
  }

  const webhook = (payload: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/funding/webhook', headers, payload })

  /** A user made admin before signing in (the session carries the role it had at login). */
  async function admin() {
    const who = await register(app)
    await db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [who.user.id])
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: who.email, password: who.password },
    })
    return { ...who, token: res.json().token as string }
  }

  describe('provider webhook', () => {
    it('credits the account once per event id: a redelivery answers 200 with the first result', async () => {
      const { token, user } = await login(app)
      const account = await openAccount(app, token)
      const signed = fundingWebhook(account, 1500, { description: 'Top-up', reference: 'pay_123' })
      const first = await webhook(signed.payload, signed.headers)
      expect(first.statusCode, first.body).to.equal(201)
      expect(first.json().transaction).to.include({ type: 'deposit', amount: '1500', toAccountId: account })
      const again = await webhook(signed.payload, signed.headers)
      expect(again.statusCode).to.equal(200)
      expect(again.headers['idempotent-replayed']).to.equal('true')
      expect(again.json()).to.deep.equal(first.json())
      expect(await balanceOf(app, token, account)).to.equal(1500n)
      const audit = await db.query(
        'SELECT source, event_id, reason, actor_id FROM fundings WHERE user_id = $1',
        [user.id],
      )
      expect(audit.rows).to.deep.equal([
        { source: 'provider', event_id: signed.event.id, reason: 'pay_123', actor_id: null },
      ])
    })

    it('refuses the same event id with another body (409) and applies nothing', async () => {
      const { token, user } = await login(app)
      const account = await openAccount(app, token)
      const eventId = `evt_${randomUUID()}`
      await fundAccount(app, account, 100, { eventId })
      const before = await footprint(user.id)
      const forged = fundingWebhook(account, 99999, { eventId })
      const res = await webhook(forged.payload, forged.headers)
      expect(res.statusCode).to.equal(409)
      expect(res.json().error.code).to.equal('EVENT_CONFLICT')
      expect(await footprint(user.id)).to.deep.equal(before)
    })

    it('refuses a missing, wrong, malformed or stale signature and a tampered body with 401, writing nothing', async () => {
      const { token, user } = await login(app)
      const account = await openAccount(app, token)
      const before = await footprint(user.id)
      const good = fundingWebhook(account, 500)
      const now = Math.floor(Date.now() / 1000)
      const cases: [string, Record<string, string>][] = [
        [good.payload, { 'content-type': 'application/json' }],
        [
          good.payload,
          {
            ...good.headers,
            [SIGNATURE_HEADER]: signFunding('another-secret-of-enough-length!!', good.payload, now),
          },
        ],
        [good.payload, { ...good.headers, [SIGNATURE_HEADER]: 'v1=abc' }],
        [
          good.payload,
          { ...good.headers, [SIGNATURE_HEADER]: signFunding(TEST_FUNDING_SECRET, good.payload, now - 301) },
        ],
        [
          good.payload,
          { ...good.headers, [SIGNATURE_HEADER]: signFunding(TEST_FUNDING_SECRET, good.payload, now + 301) },
        ],
        [good.payload.replace('"500"', '"50000"'), good.headers],
        ['', { [SIGNATURE_HEADER]: signFunding(TEST_FUNDING_SECRET, '', now) }],
      ]
      for (const [payload, headers] of cases) {
        const res = await webhook(payload, headers)
        expect(res.statusCode, `${JSON.stringify(headers)} ${payload}`).to.equal(401)
        expect(res.json().error.code).to.equal('INVALID_SIGNATURE')
      }
      expect(await footprint(user.id)).to.deep.equal(before)
    })

    it('holds every funding to the per-transaction and the daily limit (422), counting all accounts of the owner', async () => {
      const { token, user } = await login(app)
      const a = await openAccount(app, token)
      const b = await openAccount(app, token)
      const over = fundingWebhook(a, 100001)
      const res = await webhook(over.payload, over.headers)
      expect(res.statusCode).to.equal(422)
      expect(res.json().error.code).to.equal('LIMIT_EXCEEDED')
      await fundAccount(app, a, 100000)
      const before = await footprint(user.id)
      const daily = fundingWebhook(b, 50001)
      const refused = await webhook(daily.payload, daily.headers)
      expect(refused.statusCode).to.equal(422)
      expect(refused.json().error.code).to.equal('LIMIT_EXCEEDED')
      expect(await footprint(user.id)).to.deep.equal(before)
      await fundAccount(app, b, 50000)
      expect(await balanceOf(app, token, b)).to.equal(50000n)
    })

    it('keeps the daily limit under concurrent deliveries (real parallel HTTP)', async () => {
      const server = await startInstance({ FUNDING_DAILY_LIMIT: '1000', OUTBOX_RELAY_ENABLED: 'false' })
      try {
        const { token } = await login(server.app)
        const account = await openAccount(server.app, token)
        const results = await Promise.all(
          Array.from({ length: 10 }, () => {
            const signed = fundingWebhook(account, 300)
            return fetch(`${server.url}/v1/funding/webhook`, {
              method: 'POST',
              headers: signed.headers,
              body: signed.payload,
            }).then((r) => r.status)
          }),
        )
        expect(results.filter((s) => s === 201)).to.have.length(3)
        expect(results.filter((s) => s === 422)).to.have.length(7)
        expect(await balanceOf(server.app, token, account)).to.equal(900n)
      } finally {
        await server.app.close()
      }
    })

    it('refuses an unknown account (404) and another currency (422)', async () => {
      const { token } = await login(app)
      const usd = await openAccount(app, token, 'USD')
      const unknown = fundingWebhook(randomUUID(), 5)
      expect((await webhook(unknown.payload, unknown.headers)).statusCode).to.equal(404)
      const wrong = fundingWebhook(usd, 5, { currency: 'EUR' })
      const res = await webhook(wrong.payload, wrong.headers)
      expect(res.statusCode).to.equal(422)
      expect(res.json().error.code).to.equal('CURRENCY_MISMATCH')
    })

    it('does not exist without FUNDING_WEBHOOK_SECRET', async () => {
      const bare = await buildTestApp({ FUNDING_WEBHOOK_SECRET: '' })
      try {
        const signed = fundingWebhook(randomUUID(), 5)
        const res = await bare.inject({
          method: 'POST',
          url: '/v1/funding/webhook',
          headers: signed.headers,
          payload: signed.payload,
        })
        expect(res.statusCode).to.equal(404)
      } finally {
        await bare.close()
      }
    })
  })

  describe('treasury operations', () => {
    it('lets an admin credit an account with a reason, idempotently, and records who, when, why and how much', async () => {
      const boss = await admin()
      const { token } = await login(app)
      const account = await openAccount(app, token)
      const key = randomUUID()
      const send = () =>
        app.inject({
          method: 'POST',
          url: '/v1/admin/treasury/fundings',
          headers: { ...bearer(boss.token), 'idempotency-key': key },
          payload: {
            accountId: account,
            amount: '2500',
            currency: 'EUR',
            reason: 'Goodwill credit, ticket 4711',
          },
        })
      const first = await send()
      expect(first.statusCode, first.body).to.equal(201)
      const again = await send()
      expect(again.statusCode).to.equal(200)
      expect(again.json()).to.deep.equal(first.json())
      expect(await balanceOf(app, token, account)).to.equal(2500n)

      const trail = await app.inject({
        method: 'GET',
        url: `/v1/admin/treasury/fundings?accountId=${account}`,
        headers: bearer(boss.token),
      })
      expect(trail.statusCode).to.equal(200)
      const [record] = trail.json().items
      expect(record).to.include({
        source: 'treasury',
        actorId: boss.user.id,
        reason: 'Goodwill credit, ticket 4711',
        amount: '2500',
        transactionId: first.json().transaction.id,
      })
      expect(Date.parse(record.createdAt)).to.be.closeTo(Date.now(), 60_000)
    })

    it('refuses a user who is not an admin with 403, and a missing reason with 400', async () => {
      const { token, user } = await login(app)
      const account = await openAccount(app, token)
      const before = await footprint(user.id)
      const self = await app.inject({
        method: 'POST',
        url: '/v1/admin/treasury/fundings',
        headers: { ...bearer(token), 'idempotency-key': randomUUID() },
        payload: { accountId: account, amount: '100', currency: 'EUR', reason: 'I would like money' },
      })
      expect(self.statusCode).to.equal(403)
      const boss = await admin()
      const noReason = await app.inject({
        method: 'POST',
        url: '/v1/admin/treasury/fundings',
        headers: { ...bearer(boss.token), 'idempotency-key': randomUUID() },
        payload: { accountId: account, amount: '100', currency: 'EUR' },
      })
      expect(noReason.statusCode).to.equal(400)
      const list = await app.inject({
        method: 'GET',
        url: '/v1/admin/treasury/fundings',
        headers: bearer(token),
      })
      expect(list.statusCode).to.equal(403)
      expect(await footprint(user.id)).to.deep.equal(before)
    })
  })

  describe('erased users and foreign accounts', () => {
    it("refuses funding and transfers into an erased user's account with 404", async () => {
      const alice = await login(app)
      const gone = await login(app)
      const from = await openAccount(app, alice.token)
      const target = await openAccount(app, gone.token)
      await fundAccount(app, from, 1000)
      // What erasure leaves of the user row (features/gdpr/erase.ts); its accounts stay for the ledger.
      await db.query('UPDATE users SET deleted_at = now() WHERE id = $1', [gone.user.id])
      const transfer = await post(app, alice.token, {
        type: 'transfer',
        amount: '10',
        currency: 'EUR',
        fromAccountId: from,
        toAccountId: target,
      })
      expect(transfer.statusCode).to.equal(404)
      expect(transfer.json().error.code).to.equal('ACCOUNT_NOT_FOUND')
      const signed = fundingWebhook(target, 10)
      expect((await webhook(signed.payload, signed.headers)).statusCode).to.equal(404)
      expect(await balanceOf(app, alice.token, from)).to.equal(1000n)
      const { rows } = await db.query('SELECT balance::text FROM accounts WHERE id = $1', [target])
      expect(rows[0].balance).to.equal('0')
    })

    it("answers a transfer to a stranger's account in another currency exactly like one to no account", async () => {
      const alice = await login(app)
      const bob = await login(app)
      const from = await openAccount(app, alice.token)
      const bobsUsd = await openAccount(app, bob.token, 'USD')
      await fundAccount(app, from, 1000)
      const body = (to: string) => ({
        type: 'transfer',
        amount: '10',
        currency: 'EUR',
        fromAccountId: from,
        toAccountId: to,
      })
      const toUsd = await post(app, alice.token, body(bobsUsd))
      const toNothing = await post(app, alice.token, body(randomUUID()))
      expect(toUsd.statusCode).to.equal(404)
      const strip = (r: typeof toUsd) => ({ ...r.json().error, requestId: undefined })
      expect(strip(toUsd)).to.deep.equal(strip(toNothing))
    })
  })

  describe('accounts', () => {
    it('keeps the 20-account cap under concurrent creation (real parallel HTTP)', async () => {
      const server = await startInstance({ OUTBOX_RELAY_ENABLED: 'false' })
      try {
        const { token, user } = await login(server.app)
        const results = await Promise.all(
          Array.from({ length: 30 }, () =>
            fetch(`${server.url}/v1/accounts`, {
              method: 'POST',
              headers: { ...bearer(token), 'content-type': 'application/json' },
              body: JSON.stringify({ currency: 'EUR' }),
            }).then((r) => r.status),
          ),
        )
        expect(results.filter((s) => s === 201)).to.have.length(20)
        expect(results.filter((s) => s === 409)).to.have.length(10)
        const { rows } = await db.query('SELECT count(*)::int AS n FROM accounts WHERE user_id = $1', [
          user.id,
        ])
        expect(rows[0].n).to.equal(20)
      } finally {
        await server.app.close()
      }
    })
  })
})
