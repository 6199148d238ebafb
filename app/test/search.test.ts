import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, LogCapture } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { bearer, login } from './helpers/users.js'
import { openAccount } from './transactions.support.js'

interface Hit {
  type: string
  id: string
  title: string
  highlight: string
  rank: number
}

describe('search (PostgreSQL full-text)', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app?.close()
  })

  async function deposit(token: string, accountId: string, description: string) {
    void token
    return (await fundAccount(app, accountId, 100, { description })).id
  }
  async function upload(userId: string, fileName: string) {
    // Straight into the table: the S3 flow has its own spec, search only needs the row.
    const row = await app.prisma.upload.create({
      data: { userId, key: `users/${userId}/${fileName}`, fileName, contentType: 'text/plain', size: 1 },
    })
    return row.id
  }
  async function find(token: string, query: string) {
    const res = await app.inject({ method: 'GET', url: `/v1/search?${query}`, headers: bearer(token) })
    return res
  }

  it('finds transactions by description and uploads by file name, stemmed, ranked and highlighted', async () => {
    const user = await login(app)
    const account = await openAccount(app, user.token)
    const rent = await deposit(user.token, account, 'Rent payment for March, apartment rent')
    await deposit(user.token, account, 'Groceries')
    const invoice = await upload(user.user.id, 'rent_invoice-march.pdf')

    const res = await find(user.token, 'q=rents')
    expect(res.statusCode, res.body).to.equal(200)
    const items: Hit[] = res.json().items
    expect(items.map((h) => h.id).sort()).to.deep.equal([rent, invoice].sort())
    const tx = items.find((h) => h.id === rent) as Hit
    expect(tx.type).to.equal('transaction')
    expect(tx.highlight).to.include('<mark>Rent</mark>')
    expect(items.find((h) => h.id === invoice)?.highlight).to.include('<mark>rent</mark>')
    // Ranked: the description that says "rent" twice comes first.
    expect(items[0]?.id).to.equal(rent)
    expect(items[0]?.rank).to.be.greaterThan(items[1]?.rank ?? 0)

    const onlyUploads = (await find(user.token, 'q=rent&type=uploads')).json().items as Hit[]
    expect(onlyUploads.map((h) => h.id)).to.deep.equal([invoice])
    const onlyTx = (await find(user.token, 'q=rent&type=transactions')).json().items as Hit[]
    expect(onlyTx.map((h) => h.id)).to.deep.equal([rent])
  })

  it("never returns another user's rows", async () => {
    const alice = await login(app)
    const bob = await login(app)
    const bobsAccount = await openAccount(app, bob.token)
    await deposit(bob.token, bobsAccount, 'secret bonus payout')
    await upload(bob.user.id, 'secret-bonus.txt')
    const res = await find(alice.token, 'q=secret%20bonus')
    expect(res.statusCode).to.equal(200)
    expect(res.json().items).to.deep.equal([])
    expect((await find(bob.token, 'q=secret%20bonus')).json().items).to.have.length(2)
  })

  it('pages through results with a cursor, without repeats or gaps', async () => {
    const user = await login(app)
    const account = await openAccount(app, user.token)
    const ids: string[] = []
    for (let i = 0; i < 5; i++)
      ids.push(await deposit(user.token, account, `coffee ${'coffee '.repeat(i)}beans`))
    for (let i = 0; i < 2; i++) ids.push(await upload(user.user.id, `coffee-receipt-${i}.pdf`))

    const seen: Hit[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await find(user.token, `q=coffee&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode, res.body).to.equal(200)
      seen.push(...res.json().items)
      cursor = res.json().nextCursor
      pages++
    } while (cursor)
    expect(pages).to.equal(3)
    expect(seen.map((h) => h.id).sort()).to.deep.equal([...ids].sort())
    const ranks = seen.map((h) => h.rank)
    expect(ranks).to.deep.equal([...ranks].sort((a, b) => b - a))
  })

  it('escapes markup in highlights', async () => {
    const user = await login(app)
    const account = await openAccount(app, user.token)
    await deposit(user.token, account, 'refund <script>alert(1)</script> shoes')
    const [hit] = (await find(user.token, 'q=refund')).json().items as Hit[]
    expect(hit?.highlight).to.include('&lt;script&gt;')
    expect(hit?.highlight).not.to.include('<script>')
  })

  it('limits the query length and rejects a forged cursor', async () => {
    const user = await login(app)
    expect((await find(user.token, 'q=a')).statusCode).to.equal(400)
    expect((await find(user.token, `q=${'x'.repeat(201)}`)).statusCode).to.equal(400)
    expect((await find(user.token, 'q=ok&type=users')).statusCode).to.equal(400)
    expect((await find(user.token, 'q=rent&cursor=bm90LWEtY3Vyc29y')).statusCode).to.equal(400)
    expect((await app.inject({ method: 'GET', url: '/v1/search?q=rent' })).statusCode).to.equal(401)
  })

  it('matches through the GIN indexes the migrations created', async () => {
    const plans = await app.prisma.$transaction(async (tx) => {
      // The test tables are tiny, so the planner would scan them; forbid that to see the index is usable.
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off')
      const explain = async (sql: string) =>
        (await tx.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN ${sql}`))
          .map((r) => r['QUERY PLAN'])
          .join('\n')
      return Promise.all([
        explain("SELECT id FROM uploads WHERE search_vector @@ websearch_to_tsquery('english', 'rent')"),
        explain("SELECT id FROM transactions WHERE search_vector @@ websearch_to_tsquery('english', 'rent')"),
      ])
    })
    expect(plans[0]).to.include('uploads_search_vector_idx')
    expect(plans[1]).to.include('transactions_search_vector_idx')
  })

  it('keeps search terms out of the logs (issue 10, finding 8)', async () => {
    const logs = new LogCapture()
    const logged = await buildTestApp({ LOG_LEVEL: 'info' }, logs)
    try {
      const user = await login(logged)
      const res = await logged.inject({
        method: 'GET',
        url: '/v1/search?q=pregnancy%20test%20pharmacy&limit=5',
        headers: bearer(user.token),
      })
      expect(res.statusCode).to.equal(200)
      const text = logs.raw.join('\n')
      expect(text).to.include('/v1/search?q=[redacted]&limit=5')
      expect(text).not.to.match(/pregnancy/i)
    } finally {
      await logged.close()
    }
  })
})
