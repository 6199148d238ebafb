#!/usr/bin/env node
// Runs `prisma generate` offline. The CLI insists on locating a native schema engine before it
// falls back to the bundled WASM one, and cannot download it here (no internet, and none in the
// Docker build), so point PRISMA_SCHEMA_ENGINE_BINARY at any existing file unless one is set.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(import.meta.url)
const prismaCli = require.resolve('prisma/build/index.js')
const env = { ...process.env }
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath
env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1'

const result = spawnSync(process.execPath, [prismaCli, 'generate', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
})
process.exit(result.status ?? 1)
