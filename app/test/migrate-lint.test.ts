// The CI lint for new migrations (scripts/lint-migrations.mjs, squawk): it must fail on a locking
// hazard, or the `migrations` stage proves nothing.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { migrationsFolder } from './migrate-support.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..')

function lint(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ['scripts/lint-migrations.mjs', dir], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('migration lint (squawk)', function () {
  this.timeout(60_000)

  it('fails a new migration that builds an index while blocking writes', () => {
    const folder = migrationsFolder({ '20991231000000_idx': 'CREATE INDEX "t_c_idx" ON "t" ("c");\n' })
    try {
      const { status, output } = lint(folder.dir)
      expect(status).to.not.equal(0)
      expect(output).to.include('require-concurrent-index-creation')
    } finally {
      folder.remove()
    }
  })

  it('passes the expand migration the chaos run applies, and skips the committed history', () => {
    const { status, output } = lint('scripts/chaos/migrations')
    expect(status, output).to.equal(0)
    expect(output).to.match(/\d+ migration\(s\) newer than/)
  })
})
