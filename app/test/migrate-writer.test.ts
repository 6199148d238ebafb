import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { migrationUrl } from '../src/db/migrate-cli.js'

describe('migrations follow the writer', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'migrate-writer-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('runs against the writer the endpoint source names, not the host baked into DATABASE_URL', async () => {
    // After a promotion DATABASE_URL still names the old us-east writer; the SSM parameter names the EU one.
    const source = join(dir, 'writer')
    writeFileSync(source, 'blueprint-eu-west-db-replica.abc.eu-west-1.rds.amazonaws.com:5432\n')
    const url = await migrationUrl({
      DATABASE_URL:
        'postgresql://migrator:pw@blueprint-us-east-db.abc.us-east-1.rds.amazonaws.com:5432/blueprint?sslmode=require',
      DATABASE_WRITER_ENDPOINT_SOURCE: `file:${source}`,
    })
    const u = new URL(url)
    expect(u.host).to.equal('blueprint-eu-west-db-replica.abc.eu-west-1.rds.amazonaws.com:5432')
    // Credentials, database and TLS options are DATABASE_URL's.
    expect(u.username).to.equal('migrator')
    expect(u.pathname).to.equal('/blueprint')
    expect(u.searchParams.get('sslmode')).to.equal('require')
  })

  it('uses DATABASE_URL as is when no endpoint source is set (local development)', async () => {
    const url = 'postgresql://postgres@127.0.0.1:5432/dev'
    expect(await migrationUrl({ DATABASE_URL: url })).to.equal(url)
  })
})
