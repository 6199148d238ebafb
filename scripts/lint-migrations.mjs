#!/usr/bin/env node
// Lints migrations newer than the committed baseline for locking hazards with squawk: a migration
// already applied in production cannot be changed, so the history up to the baseline is accepted
// as it is, and every later one must pass (docs/migrations.md: expand/contract).
// `node scripts/lint-migrations.mjs [extra migrations dir...]`
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const committed = 'prisma/migrations'
const baseline = readFileSync(join(committed, '.lint-baseline'), 'utf8').trim()
const dirs = [committed, ...process.argv.slice(2)]

const files = dirs.flatMap((dir) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && (dir !== committed || e.name > baseline))
    .map((e) => join(dir, e.name, 'migration.sql'))
    .filter((file) => existsSync(file)),
)
if (files.length === 0) {
  console.log(`no migrations newer than the baseline ${baseline}`)
  process.exit(0)
}
console.log(`squawk: ${files.length} migration(s) newer than ${baseline}`)
// The runner applies a migration in one transaction unless it carries the marker (app/src/db/migrate.ts):
// a failed one rolls back whole, and indexes or constraints on a table it creates lock nobody.
const outside = files.filter((file) => /^-- migrate: no-transaction\s*$/m.test(readFileSync(file, 'utf8')))
const inside = files.filter((file) => !outside.includes(file))
let status = 0
for (const [group, flags] of [
  [inside, ['--assume-in-transaction']],
  [outside, []],
]) {
  if (group.length === 0) continue
  const result = spawnSync('npx', ['squawk', '-c', '.squawk.toml', ...flags, ...group], { stdio: 'inherit' })
  status ||= result.status ?? 1
}
process.exit(status)
