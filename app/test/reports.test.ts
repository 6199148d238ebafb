import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { bearer, login, register, uniqueEmail } from './helpers/users.js'
import { openAccount, post } from './transactions.support.js'

interface Period {
  period: string
  accountId: string
  type: string
  direction: string
  count: number
  total: string
}

describe('reports', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app?.close()
  })

  /** A ledger row at a chosen time, written straight to the table (the API always stamps now()). */
  async function pastTransaction(fields: {
    type: 'deposit' | 'withdrawal' | 'transfer'
    amount: bigint
    at: string
    from?: { accountId: string; userId: string }
    to?: { accountId: string; userId: string }
    currency?: string
  }) {
    await app.prisma.transaction.create({
      data: {
        id: randomUUID(),
        type: fields.type,
        amount: fields.amount,
        currency: fields.currency ?? 'EUR',
        fromAccountId: fields.from?.accountId,
        fromUserId: fields.from?.userId,
        toAccountId: fields.to?.accountId,
        toUserId: fields.to?.userId,
        createdAt: new Date(fields.at),
      },
    })
  }
  const summary = async (token: string, query: string) => {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/reports/summary?${query}`,
      headers: bearer(token),
    })
    expect(res.statusCode, res.body).to.equal(200)
    return res.json().periods as Period[]
  }

  it('totals and counts per period, account, type and direction, by day, week and month', async () => {
    const user = await login(app)
    const main = { accountId: await openAccount(app, user.token), userId: user.user.id }
    const savings = { accountId: await openAccount(app, user.token), userId: user.user.id }
    await pastTransaction({ type: 'deposit', amount: 1000n, at: '2025-03-03T10:00:00Z', to: main })
    await pastTransaction({ type: 'deposit', amount: 500n, at: '2025-03-03T23:59:59Z', to: main })
    await pastTransaction({ type: 'withdrawal', amount: 200n, at: '2025-03-05T08:00:00Z', from: main })
    await pastTransaction({
      type: 'transfer',
      amount: 300n,
      at: '2025-04-01T00:00:00Z',
      from: main,
      to: savings,
    })

    const daily = await summary(user.token, 'from=2025-03-01&to=2025-04-30&granularity=day')
    expect(daily).to.deep.include({
      period: '2025-03-03',
      accountId: main.accountId,
      currency: 'EUR',
      type: 'deposit',
      direction: 'in',
      count: 2,
      total: '1500',
    })
    expect(daily).to.deep.include({
      period: '2025-03-05',
      accountId: main.accountId,
      currency: 'EUR',
      type: 'withdrawal',
      direction: 'out',
      count: 1,
      total: '200',
    })
    expect(daily).to.deep.include({
      period: '2025-04-01',
      accountId: main.accountId,
      currency: 'EUR',
      type: 'transfer',
      direction: 'out',
      count: 1,
      total: '300',
    })
    expect(daily).to.deep.include({
      period: '2025-04-01',
      accountId: savings.accountId,
      currency: 'EUR',
      type: 'transfer',
      direction: 'in',
      count: 1,
      total: '300',
    })
    expect(daily).to.have.length(4)

    const weekly = await summary(user.token, 'from=2025-03-01&to=2025-04-30&granularity=week')
    // 2025-03-03 is a Monday: both deposits and the withdrawal fall in its week.
    expect(
      weekly
        .filter((p) => p.period === '2025-03-03')
        .map((p) => p.type)
        .sort(),
    ).to.deep.equal(['deposit', 'withdrawal'])
    // 2025-03-01 (a Saturday) is outside: its week starts 2025-02-24, and nothing happened then.
    expect(weekly.some((p) => p.period === '2025-02-24')).to.equal(false)

    const monthly = await summary(user.token, 'from=2025-03-01&to=2025-04-30&granularity=month')
    expect(
      monthly.map((p) => `${p.period} ${p.type} ${p.direction} ${p.count} ${p.total}`).sort(),
    ).to.deep.equal(
      [
        '2025-03-01 deposit in 2 1500',
        '2025-03-01 withdrawal out 1 200',
        '2025-04-01 transfer in 1 300',
        '2025-04-01 transfer out 1 300',
      ].sort(),
    )

    const march = await summary(user.token, 'from=2025-03-04&to=2025-03-31&granularity=month')
    expect(march.map((p) => p.type)).to.deep.equal(['withdrawal'])
  })

  it('serves summaries from the cache until a new transaction of the user invalidates them', async () => {
    const user = await login(app)
    const account = { accountId: await openAccount(app, user.token), userId: user.user.id }
    const day = new Date().toISOString().slice(0, 10)
    const query = `from=${day}&to=${day}&granularity=day`
    expect(await summary(user.token, query)).to.deep.equal([])

    // Written behind the API's back: nothing invalidates, so the cached (empty) summary stays.
    await pastTransaction({ type: 'deposit', amount: 7n, at: new Date().toISOString(), to: account })
    expect(await summary(user.token, query)).to.deep.equal([])

    // A funding is written by the service: it invalidates the receiver's summaries at once.
    await fundAccount(app, account.accountId, 5)
    const fresh = await summary(user.token, query)
    expect(fresh).to.have.length(1)
    expect(fresh[0]).to.include({ count: 2, total: '12' })
  })

  it("a transfer invalidates the receiver's cached summary too", async () => {
    const alice = await login(app)
    const bob = await login(app)
    const from = await openAccount(app, alice.token)
    const to = await openAccount(app, bob.token)
    await fundAccount(app, from, 100)
    const day = new Date().toISOString().slice(0, 10)
    const query = `from=${day}&to=${day}`
    expect(await summary(bob.token, query)).to.deep.equal([])

    const res = await post(app, alice.token, {
      type: 'transfer',
      amount: '40',
      currency: 'EUR',
      fromAccountId: from,
      toAccountId: to,
    })
    expect(res.statusCode, res.body).to.equal(201)
    let periods: Period[] = []
    for (let i = 0; i < 100 && periods.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50))
      periods = await summary(bob.token, query)
    }
    expect(periods).to.have.length(1)
    expect(periods[0]).to.include({ accountId: to, type: 'transfer', direction: 'in', total: '40' })
  })

  it('rejects an inverted or too long range', async () => {
    const user = await login(app)
    const bad = (q: string) =>
      app.inject({ method: 'GET', url: `/v1/reports/summary?${q}`, headers: bearer(user.token) })
    expect((await bad('from=2025-03-02&to=2025-03-01')).statusCode).to.equal(400)
    expect((await bad('from=2020-01-01&to=2025-01-01')).statusCode).to.equal(400)
    expect((await bad('granularity=year')).statusCode).to.equal(400)
  })

  describe('admin daily report', () => {
    it('answers 403 to a user without the admin role', async () => {
      const user = await login(app)
      const res = await app.inject({
        method: 'GET',
        url: '/v1/admin/reports/daily?from=2025-01-01&to=2025-01-02',
        headers: bearer(user.token),
      })
      expect(res.statusCode).to.equal(403)
    })

    it('counts active users, registrations and transactions per currency for each day', async () => {
      const admin = await login(app)
      await app.prisma.user.update({ where: { id: admin.user.id }, data: { role: 'admin' } })
      const session = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: admin.email, password: admin.password },
      })
      const token = session.json().token as string

      // A quiet stretch of 2019 that only this spec writes to.
      const users: { id: string }[] = []
      for (const at of ['2019-06-10T09:00:00Z', '2019-06-10T23:00:00Z', '2019-06-11T12:00:00Z']) {
        users.push(
          await app.prisma.user.create({
            data: { email: uniqueEmail('r'), passwordHash: 'x', name: 'R', createdAt: new Date(at) },
          }),
        )
      }
      // The third registers on the 11th and is never active.
      const [u1, u2] = users as [{ id: string }, { id: string }]
      await app.prisma.userActivity.createMany({
        data: [
          { userId: u1.id, day: new Date('2019-06-10') },
          { userId: u2.id, day: new Date('2019-06-10') },
          { userId: u1.id, day: new Date('2019-06-11') },
        ],
      })
      const eur = await app.prisma.account.create({ data: { userId: u1.id, currency: 'EUR' } })
      const usd = await app.prisma.account.create({ data: { userId: u2.id, currency: 'USD' } })
      await pastTransaction({
        type: 'deposit',
        amount: 100n,
        at: '2019-06-10T10:00:00Z',
        to: { accountId: eur.id, userId: u1.id },
      })
      await pastTransaction({
        type: 'deposit',
        amount: 250n,
        at: '2019-06-10T11:00:00Z',
        to: { accountId: eur.id, userId: u1.id },
      })
      await pastTransaction({
        type: 'deposit',
        amount: 9n,
        currency: 'USD',
        at: '2019-06-10T12:00:00Z',
        to: { accountId: usd.id, userId: u2.id },
      })
      await pastTransaction({
        type: 'withdrawal',
        amount: 50n,
        at: '2019-06-11T12:00:00Z',
        from: { accountId: eur.id, userId: u1.id },
      })

      const res = await app.inject({
        method: 'GET',
        url: '/v1/admin/reports/daily?from=2019-06-09&to=2019-06-11',
        headers: bearer(token),
      })
      expect(res.statusCode, res.body).to.equal(200)
      expect(res.json().days).to.deep.equal([
        { date: '2019-06-09', activeUsers: 0, registrations: 0, transactions: [] },
        {
          date: '2019-06-10',
          activeUsers: 2,
          registrations: 2,
          transactions: [
            { currency: 'EUR', count: 2, volume: '350' },
            { currency: 'USD', count: 1, volume: '9' },
          ],
        },
        {
          date: '2019-06-11',
          activeUsers: 1,
          registrations: 1,
          transactions: [{ currency: 'EUR', count: 1, volume: '50' }],
        },
      ])
    })

    it('records a user as active on the day they log in, even without another request', async () => {
      const account = await login(app)
      const today = new Date().toISOString().slice(0, 10)
      let rows = 0
      for (let i = 0; i < 20 && rows === 0; i++) {
        rows = await app.prisma.userActivity.count({
          where: { userId: account.user.id, day: new Date(today) },
        })
        if (rows === 0) await new Promise((r) => setTimeout(r, 25))
      }
      expect(rows).to.equal(1)
    })

    it('records a user as active on the day of an authenticated request', async () => {
      // A session made without the login route: only the authenticated request can mark the day.
      const user = await register(app)
      const { token } = await app.sessions.create(user.user.id, 'user')
      const today = new Date().toISOString().slice(0, 10)
      expect(await app.prisma.userActivity.count({ where: { userId: user.user.id } })).to.equal(0)
      await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) })
      let rows = 0
      for (let i = 0; i < 20 && rows === 0; i++) {
        rows = await app.prisma.userActivity.count({ where: { userId: user.user.id, day: new Date(today) } })
        if (rows === 0) await new Promise((r) => setTimeout(r, 25))
      }
      expect(rows).to.equal(1)
    })
  })
})
