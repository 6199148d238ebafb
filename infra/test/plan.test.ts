import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import type { Inventory } from '../plan/inventory.js'

describe('npm run plan', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plan-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('writes the stack inventory as JSON and a Markdown summary, offline', function () {
    this.timeout(120000)
    const run = spawnSync('npm', ['run', '--silent', 'plan', '--', '--stack', 'eu-west', '--out', dir], {
      encoding: 'utf8',
    })
    expect(run.status, run.stderr).to.equal(0)
    expect(run.stdout).to.match(/eu-west: \d+ resources/)
    const inv = JSON.parse(readFileSync(join(dir, 'eu-west.json'), 'utf8')) as Inventory
    expect(inv).to.include({ project: 'blueprint', stack: 'eu-west', region: 'eu-west-1' })
    const db = inv.resources.find((r) => r.type === 'aws:rds/instance:Instance')
    expect(db).to.include({ name: 'blueprint-eu-west-db', custom: true })
    expect(db?.urn).to.match(/^urn:pulumi:eu-west::blueprint::/)
    expect(db?.options).to.include({ protect: true, retainOnDelete: true })
    const md = readFileSync(join(dir, 'eu-west.md'), 'utf8')
    expect(md).to.match(/^# blueprint\/eu-west \(eu-west-1\): \d+ resources/)
    expect(md).to.include('| `aws:rds/instance:Instance` | 1 |')
    expect(md).to.include('identifier=blueprint-eu-west-db-replica')
  })

  it('refuses an unknown stack with usage', () => {
    const run = spawnSync('npm', ['run', '--silent', 'plan', '--', '--stack', 'ap-south', '--out', dir], {
      encoding: 'utf8',
    })
    expect(run.status).to.equal(2)
    expect(run.stderr).to.include('usage: npm run plan')
  })
})
