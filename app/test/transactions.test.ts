import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { type Sql, SqlError } from '../src/db/sql.js'
import { postTransaction } from '../src/features/accounts/post-transaction.js'
import { buildTestApp } from './helpers/app.js'
import { services, withDatabase } from './helpers/services.js'
import { bearer, login } from './helpers/users.js'
import {
  balanceOf,
  dbClient,
  deposit,
  openAccount,
  PgRoundTripCounter,
  post,
  startInstance,
} from './transactions.support.js'

describe('transactions: POST/GET /v1/transactions', () => {
  let app: FastifyInstance
  let db: pg.Client
  before(async () => {
    app = await buildTestApp({ OUTBOX_RELAY_ENABLED: 'false', REGISTER_MAX_PER_IP: '1000' })
    db = await dbClient()
  })
  after(async () => {
    await app.close()
    await db.end()
  })

  /** Rows that a refused request must not have added. */
  async function footprint(userId: string) {
    const { rows } = await db.query(
      `SELECT (SELECT count(*) FROM transactions WHERE from_user_id = $1 OR to_user_id = $1)::int AS transactions,
              (SELECT count(*) FROM idempotency_keys WHERE user_id = $1)::int AS keys,
              (SELECT count(*) FROM outbox_events WHERE user_id = $1)::int AS events`,
      [userId],
    )
    return rows[0]
  }

  describe('posting', () => {
    it("refuses a deposit into one's own account: users cannot mint money (400, nothing written)", async () => {
      const { token, user } = await login(app)
      const account = await openAccount(app, token)
      const before = await footprint(user.id)
      const res = await post(app, token, {
        type: 'deposit',
        amount: '1050',
        currency: 'EUR',
        toAccountId: account,
      })
      expect(res.statusCode).to.equal(400)
      expect(res.json().error.code).to.equal('VALIDATION_FAILED')
      expect(await footprint(user.id)).to.deep.equal(before)
      expect(await balanceOf(app, token, account)).to.equal(0n)
    })

    it('withdraws integer minor units and answers 201 with the transaction, amount as a string', async () => {
      const { token } = await login(app)
      const account = await openAccount(app, token)
      await deposit(app, token, account, 2000)
      const res = await post(app, token, {
        type: 'withdrawal',
        amount: '1050',
        currency: 'EUR',
        fromAccountId: account,
      })
      expect(res.statusCode).to.equal(201)
      const { transaction } = res.json()
      expect(transaction).to.include({
        type: 'withdrawal',
        amount: '1050',
        currency: 'EUR',
        fromAccountId: account,
      })
      expect(transaction.toAccountId).to.equal(null)
      expect(await balanceOf(app, token, account)).to.equal(950n)

      const read = await app.inject({
        method: 'GET',
        url: `/v1/transactions/${transaction.id}`,
        headers: bearer(token),
      })
      expect(read.json()).to.deep.equal(res.json())
    })

    it('keeps amounts beyond 2^53 exact', async () => {
      const { token } = await login(app)
      const account = await openAccount(app, token)
      await deposit(app, token, account, '900719925474099300')
        .then(() => expect.fail('above the 10^15 cap'))
        .catch((err: Error) => expect(err.message).to.include('400'))
      await deposit(app, token, account, '999999999999999')
      await deposit(app, token, account, '999999999999999')
      expect(await balanceOf(app, token, account)).to.equal(1999999999999998n)
    })

    it('answers 400 without an Idempotency-Key', async () => {
      const { token } = await login(app)
      const account = await openAccount(app, token)
      const res = await app.inject({
        method: 'POST',
        url: '/v1/transactions',
        headers: bearer(token),
        payload: { type: 'withdrawal', amount: '1', currency: 'EUR', fromAccountId: account },
      })
      expect(res.statusCode).to.equal(400)
      expect(res.json().error.details).to.deep.include({
        field: 'idempotency-key',
        message: "must have required property 'idempotency-key'",
      })
      expect(await balanceOf(app, token, account)).to.equal(0n)
    })

    it('refuses floats, zero, negative amounts and accounts that do not fit the type with 400', async () => {
      const { token } = await login(app)
      const a = await openAccount(app, token)
      const b = await openAccount(app, token)
      await deposit(app, token, a, 1000)
      const bad = [
        { type: 'withdrawal', amount: 10.5, currency: 'EUR', fromAccountId: a },
        { type: 'withdrawal', amount: '10.50', currency: 'EUR', fromAccountId: a },
        { type: 'withdrawal', amount: '0', currency: 'EUR', fromAccountId: a },
        { type: 'withdrawal', amount: '-5', currency: 'EUR', fromAccountId: a },
        { type: 'withdrawal', amount: '5', currency: 'EUR', fromAccountId: a, toAccountId: b },
        { type: 'withdrawal', amount: '5', currency: 'EUR', toAccountId: a },
        { type: 'transfer', amount: '5', currency: 'EUR', fromAccountId: a, toAccountId: a },
        { type: 'transfer', amount: '5', currency: 'EUR', fromAccountId: a },
      ]
      for (const body of bad) {
        const res = await post(app, token, body)
        expect(res.statusCode, JSON.stringify(body)).to.equal(400)
      }
      expect(await balanceOf(app, token, a)).to.equal(1000n)
    })

    it('accepts only canonical decimal digit strings as amounts (no hex, exponent, sign, spaces, zeros, arrays, numbers)', async () => {
      const { token } = await login(app)
      const a = await openAccount(app, token)
      await deposit(app, token, a, 100_000)
      // Each of these was once coerced into a valid amount ("0x10" became 16).
      const spellings: unknown[] = [
        '0x10',
        '1e3',
        ' 42',
        '42 ',
        '+5',
        '0100',
        '0',
        '٥',
        ['5'],
        5,
        1e3,
        true,
        null,
        {},
      ]
      for (const amount of spellings) {
        const res = await post(app, token, { type: 'withdrawal', amount, currency: 'EUR', fromAccountId: a })
        expect(res.statusCode, JSON.stringify(amount)).to.equal(400)
        expect(res.json().error.details, JSON.stringify(amount)).to.deep.include.members([
          res.json().error.details.find((d: { field: string }) => d.field.startsWith('amount')),
        ])
      }
      expect(await balanceOf(app, token, a)).to.equal(100_000n)
      const ok = await post(app, token, {
        type: 'withdrawal',
        amount: '16',
        currency: 'EUR',
        fromAccountId: a,
      })
      expect(ok.statusCode).to.equal(201)
    })

    it('refuses a withdrawal beyond the balance with 422 and writes nothing', async () => {
      const { token, user } = await login(app)
      const account = await openAccount(app, token)
      await deposit(app, token, account, 500)
      const before = await footprint(user.id)
      const key = randomUUID()
      const body = { type: 'withdrawal', amount: '501', currency: 'EUR', fromAccountId: account }
      const res = await post(app, token, body, key)
      expect(res.statusCode).to.equal(422)
      expect(res.json().error.code).to.equal('INSUFFICIENT_FUNDS')
      expect(await footprint(user.id)).to.deep.equal(before)
      expect(await balanceOf(app, token, account)).to.equal(500n)

      // The key was not spent: once the money is there, the same request goes through.
      await deposit(app, token, account, 1)
      const retry = await post(app, token, body, key)
      expect(retry.statusCode).to.equal(201)
      expect(await balanceOf(app, token, account)).to.equal(0n)
    })

    it('refuses a transfer beyond the balance with 422 and leaves both accounts alone', async () => {
      const alice = await login(app)
      const bob = await login(app)
      const from = await openAccount(app, alice.token)
      const to = await openAccount(app, bob.token)
      await deposit(app, alice.token, from, 100)
      const res = await post(app, alice.token, {
        type: 'transfer',
        amount: '101',
        currency: 'EUR',
        fromAccountId: from,
        toAccountId: to,
      })
      expect(res.statusCode).to.equal(422)
      expect(await balanceOf(app, alice.token, from)).to.equal(100n)
      expect(await balanceOf(app, bob.token, to)).to.equal(0n)
    })

    it("refuses another currency with 422 and another user's account with 404", async () => {
      const alice = await login(app)
      const bob = await login(app)
      const eur = await openAccount(app, alice.token, 'EUR')
      const usd = await openAccount(app, alice.token, 'USD')
      const bobs = await openAccount(app, bob.token)
      await deposit(app, alice.token, eur, 100)
      await deposit(app, bob.token, bobs, 100)
      const mismatch = await post(app, alice.token, {
        type: 'transfer',
        amount: '5',
        currency: 'EUR',
        fromAccountId: eur,
        toAccountId: usd,
      })
      expect(mismatch.statusCode).to.equal(422)
      expect(mismatch.json().error.code).to.equal('CURRENCY_MISMATCH')
      const steal = await post(app, alice.token, {
        type: 'withdrawal',
        amount: '5',
        currency: 'EUR',
        fromAccountId: bobs,
      })
      expect(steal.statusCode).to.equal(404)
      const depositElsewhere = await post(app, alice.token, {
        type: 'deposit',
        amount: '5',
        currency: 'EUR',
        toAccountId: bobs,
      })
      expect(depositElsewhere.statusCode).to.equal(400)
      expect(await balanceOf(app, bob.token, bobs)).to.equal(100n)
    })

    it("transfers to another user's account; both parties see it, a third user gets 404", async () => {
      const alice = await login(app)
      const bob = await login(app)
      const eve = await login(app)
      const from = await openAccount(app, alice.token)
      const to = await openAccount(app, bob.token)
      await deposit(app, alice.token, from, 1000)
      const res = await post(app, alice.token, {
        type: 'transfer',
        amount: '250',
        currency: 'EUR',
        fromAccountId: from,
        toAccountId: to,
        description: 'rent',
      })
      expect(res.statusCode).to.equal(201)
      const id = res.json().transaction.id
      expect(await balanceOf(app, alice.token, from)).to.equal(750n)
      expect(await balanceOf(app, bob.token, to)).to.equal(250n)
      for (const who of [alice, bob]) {
        const seen = await app.inject({
          method: 'GET',
          url: `/v1/transactions/${id}`,
          headers: bearer(who.token),
        })
        expect(seen.statusCode).to.equal(200)
        expect(seen.json().transaction.description).to.equal('rent')
      }
      const hidden = await app.inject({
        method: 'GET',
        url: `/v1/transactions/${id}`,
        headers: bearer(eve.token),
      })
      const missing = await app.inject({
        method: 'GET',
        url: `/v1/transactions/${randomUUID()}`,
        headers: bearer(eve.token),
      })
      expect(hidden.statusCode).to.equal(404)
      expect(missing.statusCode).to.equal(404)
      expect(hidden.json().error.code).to.equal(missing.json().error.code)
    })

    it('writes the transaction, the idempotency record and the outbox events together', async () => {
      const alice = await login(app)
      const bob = await login(app)
      const from = await openAccount(app, alice.token)
      const to = await openAccount(app, bob.token)
      await deposit(app, alice.token, from, 10)
      const key = randomUUID()
      const res = await post(
        app,
        alice.token,
        { type: 'transfer', amount: '10', currency: 'EUR', fromAccountId: from, toAccountId: to },
        key,
      )
      const id = res.json().transaction.id
      const stored = await db.query(
        'SELECT status_code, response, transaction_id FROM idempotency_keys WHERE user_id = $1 AND key = $2',
        [alice.user.id, key],
      )
      expect(stored.rows[0]).to.deep.equal({ status_code: 201, response: res.json(), transaction_id: id })
      const events = await db.query(
        `SELECT user_id, type FROM outbox_events WHERE payload->>'transactionId' = $1 ORDER BY type`,
        [id],
      )
      expect(events.rows).to.deep.equal([
        { user_id: bob.user.id, type: 'transfer.in' },
        { user_id: alice.user.id, type: 'transfer.out' },
      ])
    })
  })

  describe('idempotency', () => {
    it('replays the original status and body for the same key and body, without moving money again', async () => {
      const { token } = await login(app)
      const account = await openAccount(app, token)
      const key = randomUUID()
      await deposit(app, token, account, 1000)
      const first = await post(
        app,
        token,
        { type: 'withdrawal', amount: '700', currency: 'EUR', fromAccountId: account },
        key,
      )
      // The same request written differently (fields in another order) is the same request.
      const again = await post(
        app,
        token,
        { fromAccountId: account, currency: 'EUR', amount: '700', type: 'withdrawal' },
        key,
      )
      expect(first.statusCode).to.equal(201)
      expect(again.statusCode).to.equal(201)
      expect(again.json()).to.deep.equal(first.json())
      expect(again.headers['idempotent-replayed']).to.equal('true')
      expect(first.headers['idempotent-replayed']).to.equal(undefined)
      expect(await balanceOf(app, token, account)).to.equal(300n)
    })

    it('answers 422 for the same key with a different body', async () => {
      const { token } = await login(app)
      const account = await openAccount(app, token)
      const key = randomUUID()
      await deposit(app, token, account, 1000)
      await post(
        app,
        token,
        { type: 'withdrawal', amount: '700', currency: 'EUR', fromAccountId: account },
        key,
      )
      const other = await post(
        app,
        token,
        { type: 'withdrawal', amount: '701', currency: 'EUR', fromAccountId: account },
        key,
      )
      expect(other.statusCode).to.equal(422)
      expect(other.json().error.code).to.equal('IDEMPOTENCY_KEY_REUSED')
      expect(await balanceOf(app, token, account)).to.equal(300n)
    })

    it('scopes keys per user: two users may use the same key', async () => {
      const alice = await login(app)
      const bob = await login(app)
      const a = await openAccount(app, alice.token)
      const b = await openAccount(app, bob.token)
      await deposit(app, alice.token, a, 1)
      await deposit(app, bob.token, b, 1)
      const key = randomUUID()
      const ra = await post(
        app,
        alice.token,
        { type: 'withdrawal', amount: '1', currency: 'EUR', fromAccountId: a },
        key,
      )
      const rb = await post(
        app,
        bob.token,
        { type: 'withdrawal', amount: '1', currency: 'EUR', fromAccountId: b },
        key,
      )
      expect([ra.statusCode, rb.statusCode]).to.deep.equal([201, 201])
      expect(ra.json().transaction.id).not.to.equal(rb.json().transaction.id)
    })

    it('creates exactly one transaction for concurrent requests with one key (real parallel HTTP)', async () => {
      const server = await startInstance({ OUTBOX_RELAY_ENABLED: 'false' })
      try {
        const { token, user } = await login(server.app)
        const account = await openAccount(server.app, token)
        await deposit(server.app, token, account, 300)
        const key = randomUUID()
        const body = JSON.stringify({
          type: 'withdrawal',
          amount: '300',
          currency: 'EUR',
          fromAccountId: account,
        })
        const responses = await Promise.all(
          Array.from({ length: 12 }, () =>
            fetch(`${server.url}/v1/transactions`, {
              method: 'POST',
              headers: { ...bearer(token), 'idempotency-key': key, 'content-type': 'application/json' },
              body,
            }).then(async (r) => ({
              status: r.status,
              body: (await r.json()) as { transaction: { id: string } },
            })),
          ),
        )
        // The database makes the later requests wait for the first to commit, then replay its answer.
        expect(responses.map((r) => r.status)).to.deep.equal(Array(12).fill(201))
        const ids = new Set(responses.map((r) => r.body.transaction.id))
        expect(ids.size).to.equal(1)
        const count = await db.query('SELECT count(*)::int AS n FROM transactions WHERE from_user_id = $1', [
          user.id,
        ])
        expect(count.rows[0].n).to.equal(1)
        expect(await balanceOf(server.app, token, account)).to.equal(0n)
      } finally {
        await server.app.close()
      }
    })

    it('replays after a restart: a new instance on the same database returns the original answer', async () => {
      const first = await buildTestApp({ OUTBOX_RELAY_ENABLED: 'false' })
      const { token, email, password } = await login(first)
      const account = await openAccount(first, token)
      await deposit(first, token, account, 5000)
      const key = randomUUID()
      const body = {
        type: 'withdrawal',
        amount: '4200',
        currency: 'EUR',
        fromAccountId: account,
        description: 'rent',
      }
      const original = await post(first, token, body, key)
      await first.close()

      // Sessions live in Redis under the old instance's prefix; log in again on the new one.
      const second = await buildTestApp({ OUTBOX_RELAY_ENABLED: 'false' })
      try {
        const relog = await second.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email, password },
        })
        const replay = await post(second, relog.json().token, body, key)
        expect(replay.statusCode).to.equal(original.statusCode)
        expect(replay.json()).to.deep.equal(original.json())
        expect(await balanceOf(second, relog.json().token, account)).to.equal(800n)
      } finally {
        await second.close()
      }
    })
  })

  describe('concurrency', () => {
    it('keeps balances exact and never negative under 80 parallel transfers (real HTTP)', async function () {
      this.timeout(60_000)
      const server = await startInstance({ OUTBOX_RELAY_ENABLED: 'false', DATABASE_POOL_MAX: '10' })
      try {
        const alice = await login(server.app)
        const bob = await login(server.app)
        const owners = [alice, alice, bob, bob]
        const accounts = await Promise.all(owners.map((o) => openAccount(server.app, o.token)))
        const initial = [1000n, 500n, 300n, 0n]
        for (const [i, amount] of initial.entries()) {
          if (amount > 0n)
            await deposit(server.app, owners[i]?.token as string, accounts[i] as string, amount.toString())
        }
        // Random pairs in both directions, amounts large enough that some must be refused.
        const plans = Array.from({ length: 80 }, (_, n) => {
          const from = n % 4
          const to = (from + 1 + (n % 3)) % 4
          return { from, to, amount: BigInt(37 + ((n * 53) % 211)) }
        })
        const results = await Promise.all(
          plans.map((p) =>
            fetch(`${server.url}/v1/transactions`, {
              method: 'POST',
              headers: {
                ...bearer(owners[p.from]?.token as string),
                'idempotency-key': randomUUID(),
                'content-type': 'application/json',
              },
              body: JSON.stringify({
                type: 'transfer',
                amount: p.amount.toString(),
                currency: 'EUR',
                fromAccountId: accounts[p.from],
                toAccountId: accounts[p.to],
              }),
            }).then((r) => r.status),
          ),
        )
        expect(
          results.every((s) => s === 201 || s === 422),
          String(results),
        ).to.equal(true)
        const accepted = results.filter((s) => s === 201).length
        expect(accepted).to.be.greaterThan(10)
        expect(
          results.filter((s) => s === 422).length,
          'some transfers must hit an empty account',
        ).to.be.greaterThan(0)

        // What the accepted transfers say each balance must be.
        const expected = [...initial]
        plans.forEach((p, i) => {
          if (results[i] !== 201) return
          expected[p.from] = (expected[p.from] as bigint) - p.amount
          expected[p.to] = (expected[p.to] as bigint) + p.amount
        })
        const balances = await Promise.all(
          accounts.map((a, i) => balanceOf(server.app, owners[i]?.token as string, a)),
        )
        expect(balances).to.deep.equal(expected)
        expect(balances.every((b) => b >= 0n)).to.equal(true)
        expect(balances.reduce((s, b) => s + b, 0n)).to.equal(1800n)

        // And the ledger agrees with the balances.
        const { rows } = await db.query(
          `SELECT a.id, a.balance,
                  COALESCE((SELECT sum(amount) FROM transactions WHERE to_account_id = a.id), 0)
                - COALESCE((SELECT sum(amount) FROM transactions WHERE from_account_id = a.id), 0) AS ledger
           FROM accounts a WHERE a.id = ANY($1::uuid[])`,
          [accounts],
        )
        for (const row of rows) expect(row.balance, row.id).to.equal(row.ledger)
      } finally {
        await server.app.close()
      }
    })
  })

  describe('listing, item by item', () => {
    // The list's items are built by the database (transactions-list.ts), the single read through
    // Prisma: both must answer the same item, field for field, formats included.
    it('lists each item exactly as GET /v1/transactions/:id answers it', async () => {
      const owner = await login(app)
      const first = await openAccount(app, owner.token)
      const second = await openAccount(app, owner.token)
      await deposit(app, owner.token, first, 5)
      const transfer = await post(app, owner.token, {
        type: 'transfer',
        amount: '1',
        currency: 'EUR',
        fromAccountId: first,
        toAccountId: second,
        description: 'between "my" accounts \\ ünïcode',
      })
      expect(transfer.statusCode, transfer.body).to.equal(201)
      const listed = await app.inject({
        method: 'GET',
        url: '/v1/transactions?limit=100',
        headers: bearer(owner.token),
      })
      // Compact, as JSON.stringify writes it: no spaces a database serialiser might add.
      expect(listed.body).to.equal(JSON.stringify(listed.json()))
      const items = listed.json().items as { id: string }[]
      expect(items.length).to.be.greaterThan(1)
      for (const item of items) {
        const one = await app.inject({
          method: 'GET',
          url: `/v1/transactions/${item.id}`,
          headers: bearer(owner.token),
        })
        expect(item).to.deep.equal(one.json().transaction)
      }
    })
  })

  describe('listing', () => {
    let owner: Awaited<ReturnType<typeof login>>
    let first: string
    let second: string
    const created: { id: string; createdAt: string; account: string }[] = []

    before(async () => {
      owner = await login(app)
      first = await openAccount(app, owner.token)
      second = await openAccount(app, owner.token)
      for (let i = 0; i < 7; i++) {
        const account = i % 2 === 0 ? first : second
        const t = await deposit(app, owner.token, account, i + 1)
        created.push({ ...t, account })
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })

    const list = (query: string) =>
      app.inject({ method: 'GET', url: `/v1/transactions?${query}`, headers: bearer(owner.token) })

    it('pages newest first with a cursor, without gaps or repeats', async () => {
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const res = await list(`limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        expect(res.statusCode).to.equal(200)
        const body = res.json()
        seen.push(...body.items.map((t: { id: string }) => t.id))
        cursor = body.nextCursor
        pages++
      } while (cursor)
      expect(pages).to.equal(3)
      expect(seen).to.deep.equal(created.map((t) => t.id).reverse())
    })

    it('filters by account and by date range', async () => {
      const byAccount = await list(`accountId=${second}&limit=100`)
      expect(byAccount.json().items.map((t: { id: string }) => t.id)).to.deep.equal(
        created
          .filter((t) => t.account === second)
          .map((t) => t.id)
          .reverse(),
      )
      const from = created[2]?.createdAt as string
      const to = created[5]?.createdAt as string
      const ranged = await list(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=100`)
      expect(ranged.json().items.map((t: { id: string }) => t.id)).to.deep.equal(
        created
          .slice(2, 5)
          .map((t) => t.id)
          .reverse(),
      )
    })

    it('lists sent, received and own-account transfers once each, newest first, across pages', async () => {
      const me = await login(app)
      const peer = await login(app)
      const mine = await openAccount(app, me.token)
      const savings = await openAccount(app, me.token)
      const theirs = await openAccount(app, peer.token)
      await deposit(app, me.token, mine, 100)
      await deposit(app, peer.token, theirs, 100)
      const expected: string[] = []
      for (const [token, from, to] of [
        [me.token, mine, theirs], // sent
        [peer.token, theirs, mine], // received
        [me.token, mine, savings], // between my own accounts: sent and received by me
        [peer.token, theirs, mine],
        [me.token, savings, mine],
      ] as const) {
        const res = await post(app, token, {
          type: 'transfer',
          amount: '1',
          currency: 'EUR',
          fromAccountId: from,
          toAccountId: to,
        })
        expect(res.statusCode).to.equal(201)
        expected.unshift(res.json().transaction.id)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const res: Awaited<ReturnType<typeof app.inject>> = await app.inject({
          method: 'GET',
          url: `/v1/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          headers: bearer(me.token),
        })
        expect(res.statusCode).to.equal(200)
        const body = res.json() as { items: { id: string }[]; nextCursor: string | null }
        seen.push(...body.items.map((t) => t.id))
        cursor = body.nextCursor
      } while (cursor)
      // The five transfers, then the opening deposit.
      expect(seen.slice(0, 5)).to.deep.equal(expected)
      expect(seen).to.have.length(6)
    })

    it("never lists another user's transactions and rejects a forged cursor with 400", async () => {
      const other = await login(app)
      const res = await app.inject({ method: 'GET', url: '/v1/transactions', headers: bearer(other.token) })
      expect(res.json()).to.deep.equal({ items: [], nextCursor: null })
      const forged = await list('cursor=not-a-cursor')
      expect(forged.statusCode).to.equal(400)
    })
  })

  describe('round trips and retries', () => {
    it('posts a transaction in one database round trip', async () => {
      const target = new URL(services.databaseUrl)
      const counter = new PgRoundTripCounter(target.hostname, Number(target.port || 5432))
      await counter.start()
      const proxied = new URL(withDatabase(services.databaseUrl, services.databaseName))
      proxied.port = String(counter.port)
      const measured = await buildTestApp({ OUTBOX_RELAY_ENABLED: 'false', DATABASE_URL: proxied.toString() })
      try {
        const { token } = await login(measured)
        const from = await openAccount(measured, token)
        const to = await openAccount(measured, token)
        await deposit(measured, token, from, 1000)
        const n = 10
        const before = counter.count
        const timings: number[] = []
        for (let i = 0; i < n; i++) {
          const started = performance.now()
          const res = await post(measured, token, {
            type: 'transfer',
            amount: '1',
            currency: 'EUR',
            fromAccountId: from,
            toAccountId: to,
          })
          timings.push(performance.now() - started)
          expect(res.statusCode).to.equal(201)
        }
        const perRequest = (counter.count - before) / n
        timings.sort((x, y) => x - y)
        console.log(
          `      database round trips per POST /v1/transactions: ${perRequest} ` +
            `(local latency median ${timings[n / 2]?.toFixed(1)} ms, max ${timings.at(-1)?.toFixed(1)} ms)`,
        )
        expect(perRequest).to.equal(1)
      } finally {
        await measured.close()
        await counter.stop()
      }
    })

    it('retries a deadlock a bounded number of times, then gives up', async () => {
      // What plain pg throws for a deadlock, as db/sql.ts hands it on.
      const deadlock = new SqlError(
        Object.assign(new Error('deadlock detected'), { code: '40P01', severity: 'ERROR' }),
      )
      let calls = 0
      const flaky = (async () => {
        calls++
        if (calls < 3) throw deadlock
        return [{ result: { outcome: 'created', status: 201, body: {} } }]
      }) as unknown as Sql
      const request = {
        type: 'withdrawal' as const,
        amount: 1n,
        currency: 'EUR',
        fromAccountId: randomUUID(),
        toAccountId: null,
        description: null,
      }
      const result = await postTransaction(flaky, randomUUID(), 'k', request, { maxAttempts: 3 })
      expect(result.outcome).to.equal('created')
      expect(calls).to.equal(3)

      calls = -10
      const failure = await postTransaction(flaky, randomUUID(), 'k', request, { maxAttempts: 2 }).catch(
        (e) => e,
      )
      expect(failure).to.equal(deadlock)
      expect(calls).to.equal(-8)
    })
  })
})
