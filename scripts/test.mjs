#!/usr/bin/env node
// The one test command: every stage CI runs, in order, with one closing tally.
// `npm test` runs them all; `npm test -- app infra` runs only the stages whose names are given.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureNode } from './node-runtime.mjs'

// Node 24 first: on an older machine Node this re-runs the script under the project's own copy.
await ensureNode()

const mocha = (suite) => ({
  kind: 'mocha',
  cmd: ['npx', 'mocha', '--config', `${suite}/.mocharc.cjs`],
})
const check = (...cmd) => ({ kind: 'check', cmd })

/** Stages in run order: a check counts as one test; a mocha suite counts its own tests. */
const STAGES = [
  { name: 'generate', ...check('npm', 'run', 'db:generate', '-w', 'app') },
  { name: 'lint', ...check('npx', 'biome', 'check', '.') },
  { name: 'typecheck', ...check('npm', 'run', 'typecheck') },
  { name: 'drift', ...check('npm', 'run', 'db:drift', '-w', 'app') },
  // Locking hazards (squawk) in migrations newer than prisma/migrations/.lint-baseline: docs/migrations.md.
  { name: 'migrations', ...check('npm', 'run', 'migrations:lint') },
  { name: 'dockerfile', ...check('npx', 'dockerfilelint', 'Dockerfile') },
  { name: 'compose', ...check('docker-compose', '-f', 'docker-compose.yml', 'config', '-q') },
  { name: 'app', ...mocha('app') },
  // Property-based fuzz of every OpenAPI operation (seeded: FUZZ_SEED, FUZZ_RUNS); about 1 minute.
  { name: 'fuzz', ...mocha('app/test/fuzz') },
  // The web client's units (Vitest); the SDK matches the service; the document lints clean.
  { name: 'web', ...check('npx', 'vitest', 'run', '--root', 'web') },
  { name: 'sdk-stale', ...check('npx', 'tsx', 'packages/sdk/scripts/generate.ts', '--check') },
  {
    name: 'openapi-lint',
    ...check('npx', 'redocly', 'lint', '--extends=recommended', 'packages/sdk/openapi.json'),
  },
  // The product in chromium against the real local stack, including the web build: docs/web.md.
  { name: 'e2e', kind: 'mocha', cmd: ['npx', 'mocha', '--config', 'web/e2e/.mocharc.cjs'] },
  { name: 'infra', ...mocha('infra') },
  // The benchmark's arithmetic only; `npm run bench` prints latencies and is never a test stage.
  { name: 'bench', ...mocha('scripts/bench') },
  { name: 'dr', ...mocha('infra/dr') },
  { name: 'workflows', ...check('npm', 'run', 'workflows:check') },
  { name: 'delivery', kind: 'mocha', cmd: ['npx', 'mocha', '--config', 'infra/delivery.mocharc.cjs'] },
  // Real primary + streaming standby, crash, promote, writer switch; fails when sync RPO > 0.
  { name: 'drill', ...check('npm', 'run', 'drill:local') },
  // haproxy + 2 instances: deploy across a schema change, Redis/PostgreSQL outages, kill -9: docs/resilience.md.
  { name: 'chaos', ...check('npm', 'run', 'chaos', '--', '--short') },
  // Builds the Dockerfile for real (podman here), migrates, serves, checks size vs budget: docs/image.md.
  { name: 'image', ...mocha('scripts/image-test') },
]

const only = process.argv.slice(2)
const stages = only.length ? STAGES.filter((s) => only.includes(s.name)) : STAGES
if (only.length && stages.length !== only.length) {
  console.error(`unknown stage in "${only.join(' ')}"; stages: ${STAGES.map((s) => s.name).join(', ')}`)
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), 'test-summary-'))
const summaryFile = join(dir, 'summary.jsonl')
let passed = 0
let failed = 0
let skipped = 0
const failures = []
const failedTests = []

for (const stage of stages) {
  const started = Date.now()
  console.log(`\n=== ${stage.name}: ${stage.cmd.join(' ')}`)
  const [bin, ...args] = stage.cmd
  const result = spawnSync(bin, args, {
    stdio: 'inherit',
    env: { ...process.env, TEST_SUMMARY_FILE: summaryFile, TEST_SUITE_NAME: stage.name },
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const ok = result.status === 0
  if (stage.kind === 'mocha') {
    const tally = readTally(stage.name)
    if (tally) {
      passed += tally.passed
      failed += tally.failed
      skipped += tally.skipped
      for (const title of tally.failures ?? []) failedTests.push(`[${stage.name}] ${title}`)
    }
    // A suite that crashed before reporting, or exited non-zero with no failing test, still fails.
    if (!tally || (!ok && tally.failed === 0)) failed++
  } else if (ok) {
    passed++
  } else {
    failed++
  }
  if (!ok) failures.push(stage.name)
  console.log(
    `=== ${stage.name}: ${ok ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds}s`,
  )
}
rmSync(dir, { recursive: true, force: true })

if (failedTests.length) console.log(`\nfailed tests:\n${failedTests.map((t) => `  ${t}`).join('\n')}`)
if (failures.length) console.log(`\nfailed stages: ${failures.join(', ')}`)
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failures.length ? 1 : 0)

function readTally(name) {
  let lines = []
  try {
    lines = readFileSync(summaryFile, 'utf8').trim().split('\n').filter(Boolean)
  } catch {
    return undefined
  }
  const mine = lines.map((l) => JSON.parse(l)).filter((t) => t.suite === name)
  return mine.at(-1)
}
