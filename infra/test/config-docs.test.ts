// docs/infrastructure.md's config table is the reference platform engineers read: it must list exactly the
// keys infra/src/config.ts reads, with the same defaults (like the service's config/README parity test).
import { readFileSync } from 'node:fs'
import { expect } from 'chai'

const SECTIONS: Record<string, string> = {
  net: 'network',
  dns: 'dns',
  svc: 'service',
  db: 'database',
  cache: 'cache',
  storage: 'storage',
  alarms: 'alarms',
  edge: 'edge',
}

const source = readFileSync('infra/src/config.ts', 'utf8')
/** Keys the program reads, with the default literal when it is a plain number or string. */
const read = new Map<string, string | undefined>()
for (const m of source.matchAll(
  /\b(net|dns|svc|db|cache|storage|alarms|edge)\.(\w+)\(\s*'(\w+)'(?:,\s*([^,)\n]+))?/g,
)) {
  const dflt = m[4]?.trim()
  read.set(
    `${SECTIONS[m[1] as string]}.${m[3]}`,
    dflt && /^('[^']*'|\d[\d_]*)$/.test(dflt) ? dflt.replace(/'/g, '').replaceAll('_', '') : undefined,
  )
}
for (const m of source.matchAll(/(?:cfg\.get\w*|required)\('(\w+)'/g)) read.set(m[1] as string, undefined)

const doc = readFileSync('docs/infrastructure.md', 'utf8')
const table = doc.slice(doc.indexOf('## Config keys'), doc.indexOf('## How the stacks know each other'))
/** Documented rows: each key of the first column, with its default column. */
const documented = new Map<string, string>()
for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
  const [keys = '', dflt = ''] = row.split('|').slice(1, 3)
  for (const k of keys.matchAll(/`([\w.:]+)`/g)) documented.set(k[1] as string, dflt)
}

describe('infra config reference (docs/infrastructure.md) matches infra/src/config.ts', () => {
  it('reads the keys from the source (the check is not vacuous)', () => {
    expect(read.size).to.be.greaterThan(50)
    expect(documented.size).to.be.greaterThan(50)
  })

  it('documents every key the program reads', () => {
    expect([...read.keys()].filter((k) => !documented.has(k))).to.deep.equal([])
  })

  it('documents no key the program does not read', () => {
    const extra = [...documented.keys()].filter((k) => k !== 'aws:region' && !read.has(k))
    expect(extra).to.deep.equal([])
  })

  it('states the same default for every key with a literal default', () => {
    const wrong = [...read.entries()]
      .filter(([k, d]) => d !== undefined && !(documented.get(k) ?? '').includes(d))
      .map(([k, d]) => `${k}: code ${d}, docs ${documented.get(k)?.trim()}`)
    expect(wrong).to.deep.equal([])
  })
})
