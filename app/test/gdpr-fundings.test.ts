import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { setUserRole } from '../src/features/auth/roles.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
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
