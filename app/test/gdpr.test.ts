import { PutObjectCommand } from '@aws-sdk/client-s3'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { storedKeyOf } from '../src/features/uploads/routes.js'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { postForm, startS3, type TestS3 } from './helpers/s3.js'
import { bearer, login } from './helpers/users.js'
import { openAccount, post } from './transactions.support.js'

describe('GDPR: export and erasure', () => {
  let s3: TestS3
  let app: FastifyInstance
  before(async () => {
    s3 = await startS3()
    app = await buildTestApp({ ...s3.env, OUTBOX_RELAY_INTERVAL_MS: '50' })
  })
  after(async () => {
    await app?.close()
    await s3?.close()
  })

  /** A user with preferences, an account, money in and out, an uploaded file and notifications. */
  async function activeUser() {
    const user = await login(app, { name: 'Erin Example' })
    const peer = await login(app)
    await app.inject({
      method: 'PUT',
      url: '/v1/me/preferences',
      headers: bearer(user.token),
      payload: { preferences: { theme: 'dark' } },
    })
    const account = await openAccount(app, user.token)
    const peerAccount = await openAccount(app, peer.token)
    await fundAccount(app, account, 1000, { description: 'salary from ACME' })
    const transfer = await post(app, user.token, {
      type: 'transfer',
      amount: '250',
      currency: 'EUR',
      fromAccountId: account,
      toAccountId: peerAccount,
      description: 'dinner with Erin',
    })
    expect(transfer.statusCode, transfer.body).to.equal(201)

    const bytes = Buffer.from('passport scan')
    const created = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: bearer(user.token),
      payload: { fileName: 'passport.png', contentType: 'image/png', size: bytes.length },
    })
    const upload = created.json()
    expect((await postForm(upload, bytes)).status).to.be.within(200, 299)
    const done = await app.inject({
      method: 'POST',
      url: `/v1/uploads/${upload.id}/complete`,
      headers: bearer(user.token),
    })
    expect(done.statusCode).to.equal(200)

    // Wait for the relay to turn the outbox into notifications.
    for (let i = 0; i < 60; i++) {
      const types = ['deposit.received', 'transfer.out', 'upload.completed']
      if (
        (await app.prisma.notification.count({ where: { userId: user.user.id, type: { in: types } } })) === 3
      )
        break
      await new Promise((r) => setTimeout(r, 50))
    }
    return { user, peer, account, peerAccount, upload, transferId: transfer.json().transaction.id as string }
  }

  it('exports profile, preferences, accounts, transactions, uploads, notifications and sessions in one document', async () => {
    const { user, account, upload } = await activeUser()
    const res = await app.inject({ method: 'GET', url: '/v1/me/export', headers: bearer(user.token) })
    expect(res.statusCode, res.body).to.equal(200)
    expect(res.headers['content-disposition']).to.include('attachment')
    const doc = res.json()
    expect(doc.profile).to.include({ id: user.user.id, email: user.email, name: 'Erin Example' })
    expect(doc.preferences).to.deep.equal({ theme: 'dark' })
    expect(doc.accounts).to.have.length(1)
    expect(doc.accounts[0]).to.include({ id: account, balance: '750', currency: 'EUR' })
    expect(doc.transactions.map((t: { description: string }) => t.description)).to.deep.equal([
      'salary from ACME',
      'dinner with Erin',
    ])
    expect(doc.uploads).to.have.length(1)
    expect(doc.uploads[0]).to.include({ id: upload.id, fileName: 'passport.png', status: 'completed' })
    const types = doc.notifications.map((n: { type: string }) => n.type)
    expect(types).to.include.members(['deposit.received', 'transfer.out', 'upload.completed'])
    expect(doc.sessions).to.have.length(1)
    expect(doc.sessions[0].id).to.match(/^[0-9a-f]{12}$/)
    expect(JSON.stringify(doc)).not.to.include(user.token)
    expect(doc.activityDays).to.deep.equal([new Date().toISOString().slice(0, 10)])
    // The transfer only: the deposit came through funding, which has no Idempotency-Key of the user.
    expect(doc.idempotencyKeys).to.have.length(1)
  })

  it('refuses erasure without the right password and changes nothing', async () => {
    const user = await login(app)
    const wrong = await app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { password: 'not my password at all' },
    })
    expect(wrong.statusCode).to.equal(403)
    const missing = await app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: {},
    })
    expect(missing.statusCode).to.equal(400)
    const me = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
    expect(me.statusCode).to.equal(200)
    expect(me.json().email).to.equal(user.email)
  })

  it('erases personal data, deletes files and sessions, keeps the ledger anonymised; the email can register again', async () => {
    const { user, peer, account, peerAccount, upload, transferId } = await activeUser()
    const secondSession = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    })
    const otherToken = secondSession.json().token as string
    // Completion moved the checked bytes to the stored key (features/uploads).
    const key = storedKeyOf(`users/${user.user.id}/${upload.id}`)
    expect(await s3.exists(key)).to.equal(true)
    // An object under the user's prefix that no record points at (an upload never confirmed).
    const stray = `users/${user.user.id}/stray`
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: stray, Body: 'x' }))

    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(otherToken),
      payload: { password: user.password },
    })
    expect(res.statusCode, res.body).to.equal(200)
    expect(res.json()).to.include({
      erased: true,
      objectsDeleted: 2,
      uploadsDeleted: 1,
      accountsKept: 1,
      sessionsRevoked: 2,
    })

    // Files and sessions are gone; the password no longer opens anything.
    expect(await s3.exists(key)).to.equal(false)
    expect(await s3.exists(stray)).to.equal(false)
    expect(
      (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })).statusCode,
    ).to.equal(401)
    const relogin = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    })
    expect(relogin.statusCode).to.equal(401)

    // Personal data is gone from the database.
    const row = await app.prisma.user.findUniqueOrThrow({ where: { id: user.user.id } })
    expect(row.email).to.equal(`erased-${user.user.id}@erased.invalid`)
    expect(row.name).to.equal('Erased user')
    expect(row.preferences).to.deep.equal({})
    expect(row.deletedAt).to.be.instanceOf(Date)
    expect(await app.prisma.upload.count({ where: { userId: user.user.id } })).to.equal(0)
    expect(await app.prisma.notification.count({ where: { userId: user.user.id } })).to.equal(0)
    expect(await app.prisma.idempotencyKey.count({ where: { userId: user.user.id } })).to.equal(0)
    const leftovers = await app.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM users WHERE id = ${user.user.id}::uuid
        AND (email ILIKE ${user.email} OR name = 'Erin Example')`
    expect(leftovers[0]?.n).to.equal(0)

    // The ledger stays whole: the peer's money and history are untouched, minus the free text.
    const peerAccounts = await app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(peer.token) })
    expect(peerAccounts.json().items.find((a: { id: string }) => a.id === peerAccount).balance).to.equal(
      '250',
    )
    const seen = await app.inject({
      method: 'GET',
      url: `/v1/transactions/${transferId}`,
      headers: bearer(peer.token),
    })
    expect(seen.statusCode).to.equal(200)
    expect(seen.json().transaction).to.include({ amount: '250', description: null })
    const kept = await app.prisma.account.findUniqueOrThrow({ where: { id: account } })
    expect(kept.balance).to.equal(750n)

    // The address is free again.
    const again = await app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: user.email, password: user.password, name: 'New Erin' },
    })
    expect(again.statusCode, again.body).to.equal(201)
    expect(again.json().user.id).not.to.equal(user.user.id)
  })
})
