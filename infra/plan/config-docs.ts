// `npm run docs:config -w infra`: writes the config table of docs/infrastructure.md from the schema
// (infra/src/config-schema.ts). `--check` exits 1 when the docs differ instead of writing them.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configTable } from '../src/config-schema.js'

/** Markers around the generated table in docs/infrastructure.md. */
export const TABLE_START =
  '<!-- config-table: generated from infra/src/config-schema.ts by npm run docs:config -w infra -->'
export const TABLE_END = '<!-- /config-table -->'

/** The docs file with its config table replaced by the generated one. */
export function withGeneratedTable(doc: string): string {
  const start = doc.indexOf(TABLE_START)
  const end = doc.indexOf(TABLE_END)
  if (start < 0 || end < start)
    throw new Error(`docs/infrastructure.md has no ${TABLE_START} ... ${TABLE_END} block`)
  return `${doc.slice(0, start + TABLE_START.length)}\n${configTable()}\n${doc.slice(end)}`
}

export const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'infrastructure.md')

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(DOCS, 'utf8')
  const next = withGeneratedTable(doc)
  if (process.argv.includes('--check')) {
    if (next !== doc) {
      console.error('docs/infrastructure.md config table is stale: run npm run docs:config -w infra')
      process.exit(1)
    }
  } else writeFileSync(DOCS, next)
}
