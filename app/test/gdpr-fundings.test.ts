import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { setUserRole } from '../src/features/auth/roles.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { startS3, type TestS3 } from './helpers/s3.js'
import { bearer, login } from './helpers/users.js'
import { openAccount } from './transactions.support.js'

describe('GDPR export: the money that came in (fundings)', () => {
  let app: FastifyInstance
  let url: string
  before(async () => {
    app = await buildTestApp()
    url = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  after(async () => {
    await app.close()
  })

  const exportOf = async (token: string) => {
    const res = await fetch(`${url}/v1/me/export`, { headers: bearer(token) })
    expect(res.status).to.equal(200)
    return (await res.json()) as { fundings: Record<string, unknown>[] }
  }

  it('lists every provider and treasury credit of the user’s accounts, and nobody else’s', async () => {
    const user = await login(app)
    const other = await login(app)
    const account = await openAccount(app, user.token)
    const provider = await fundAccount(app, account, 1200, { reference: 'PAY-778899' })
    await fundAccount(app, await openAccount(app, other.token), 999)

    const boss = await login(app)
    await setUserRole(app, boss.user.id, 'admin')
    const adminToken = (
      await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: boss.email, password: boss.password },
      })
    ).json().token as string
    const treasury = await fetch(`${url}/v1/admin/treasury/fundings`, {
      method: 'POST',
      headers: { ...bearer(adminToken), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({
        accountId: account,
        amount: '300',
        currency: 'EUR',
        reason: 'Goodwill, ticket 12',
      }),
    })
    expect(treasury.status).to.equal(201)
    const treasuryTx = ((await treasury.json()) as { transaction: { id: string } }).transaction.id

    const { fundings } = await exportOf(user.token)
    expect(fundings).to.have.length(2)
    expect(fundings[0]).to.include({
      source: 'provider',
      accountId: account,
      amount: '1200',
      currency: 'EUR',
      transactionId: provider.id,
      reason: 'PAY-778899',
    })
    expect(fundings[1]).to.include({
      source: 'treasury',
      accountId: account,
      amount: '300',
      transactionId: treasuryTx,
      reason: 'Goodwill, ticket 12',
    })
    for (const f of fundings) {
      expect(f.id).to.be.a('string')
      expect(Date.parse(String(f.createdAt))).to.be.closeTo(Date.now(), 60_000)
      // The admin who ran the operation is someone else's personal data.
      expect(JSON.stringify(f)).not.to.include(boss.user.id)
    }
    expect((await exportOf(other.token)).fundings.map((f) => f.amount)).to.deep.equal(['999'])
  })
})

describe('GDPR erasure: the free text of fundings', () => {
  let app: FastifyInstance
  let s3: TestS3
  before(async () => {
    s3 = await startS3()
    app = await buildTestApp(s3.env)
  })
  after(async () => {
    await app.close()
    await s3.close()
  })

  it('erases the reason of every funding of the user, keeps the rows and other users’ reasons', async () => {
    const user = await login(app)
    const other = await login(app)
    const account = await openAccount(app, user.token)
    const othersAccount = await openAccount(app, other.token)
    await fundAccount(app, account, 1200, { reference: 'Rent from Jane Doe, flat 3' })
    await fundAccount(app, account, 50)
    await fundAccount(app, othersAccount, 999, { reference: 'PAY-1' })

    const erased = await app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { password: user.password },
    })
    expect(erased.statusCode, erased.body).to.equal(200)
    expect(erased.json().fundingsAnonymised).to.equal(1)

    const rows = await app.prisma.funding.findMany({ where: { userId: user.user.id } })
    expect(rows).to.have.length(2)
    expect(rows.map((r) => r.reason)).to.deep.equal([null, null])
    expect(rows.map((r) => Number(r.amount)).sort((a, b) => a - b)).to.deep.equal([50, 1200])
    const leftovers = await app.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM fundings WHERE reason ILIKE '%Jane Doe%'`
    expect(leftovers[0]?.n).to.equal(0)
    const others = await app.prisma.funding.findMany({ where: { userId: other.user.id } })
    expect(others.map((r) => r.reason)).to.deep.equal(['PAY-1'])
  })
})
