#!/usr/bin/env node
// Installs dependencies before `npm test` or `npm run up`, so a fresh clone needs no separate step.
// A fresh tree gets the reproducible `npm ci`; an existing tree whose lockfile moved gets an
// incremental `npm install`, which never wipes node_modules under a running process.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { ensureNode } from './node-runtime.mjs'

// Node 24 first: on an older machine Node this re-runs the script under the project's own copy.
await ensureNode()

const marker = 'node_modules/.package-lock.json'
const args = !existsSync(marker)
  ? ['ci']
  : statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs
    ? ['install']
    : undefined
if (args) {
  console.log(`installing dependencies (npm ${args[0]})...`)
  const result = spawnSync('npm', [...args, '--no-audit', '--no-fund'], { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
