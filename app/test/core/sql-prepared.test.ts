/**
 * Plain SQL (db/sql.ts) is prepared once per pooled connection: PostgreSQL keeps the parsed and
 * planned statement under a name derived from its text, and later calls send only its parameters.
 */
import { expect } from 'chai'
import { closeClient, createPrismaClient } from '../../src/db/client.js'
import { sqlOn, statementName } from '../../src/db/sql.js'
import type { PrismaClient } from '../../src/generated/prisma/client.js'
import { services } from '../helpers/services.js'

describe('plain SQL statements are prepared once per connection', () => {
  let client: PrismaClient

  before(() => {
    // One connection, so every call below lands on the same session.
    client = createPrismaClient({
      url: services.databaseUrl,
      poolMax: 1,
      connectTimeoutMs: 5000,
      queryTimeoutMs: 10_000,
    })
  })
  after(async () => closeClient(client))

  const prepared = async () =>
    (await sqlOn(client)<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name', [])).map(
      (r) => r.name,
    )

  it('names a statement by its text: the same text the same name, another text another name', () => {
    expect(statementName('SELECT 1')).to.equal(statementName('SELECT 1'))
    expect(statementName('SELECT 1')).to.not.equal(statementName('SELECT 2'))
  })

  it('keeps a statement prepared on the connection and answers each call with its own parameters', async () => {
    const sql = sqlOn(client)
    const text = 'SELECT $1::int + 1 AS n'
    expect(await sql<{ n: number }>(text, [1])).to.deep.equal([{ n: 2 }])
    expect(await sql<{ n: number }>(text, [41])).to.deep.equal([{ n: 42 }])
    expect(await prepared()).to.include(statementName(text))
  })

  it('prepares another text under its own name beside the first', async () => {
    const sql = sqlOn(client)
    const other = "SELECT $1::text || '!' AS s"
    expect(await sql<{ s: string }>(other, ['hi'])).to.deep.equal([{ s: 'hi!' }])
    const names = await prepared()
    expect(names).to.include(statementName(other))
    expect(names).to.include(statementName('SELECT $1::int + 1 AS n'))
  })
})
