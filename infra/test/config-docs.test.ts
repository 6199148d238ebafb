// The stack config is declared once (infra/src/config-schema.ts): loadConfig reads through it, the types are
// inferred from it, and docs/infrastructure.md's table is generated from it. These specs hold the three together
// (like the service's config/README parity test) and bind the contract's config keys and env names to their readers.
import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { CONFIG_KEYS, ENV } from '../../app/src/contract.js'
import { DOCS, withGeneratedTable } from '../plan/config-docs.js'
import { runUnderMocks, stackConfig } from '../plan/inventory.js'
import { loadConfig } from '../src/config.js'
import { fields, keyPath, SCHEMA, type SchemaContext } from '../src/config-schema.js'

/** Only the keys the schema requires, taken from the committed us-east file: everything else must default. */
function requiredOnly(): Record<string, string> {
  const file = stackConfig('us-east')
  const out: Record<string, string> = { 'aws:region': 'us-east-1' }
  for (const section of Object.keys(SCHEMA) as (keyof typeof SCHEMA)[]) {
    const required = fields().filter(
      (f) => f.section === section && f.field.default === undefined && !f.field.optional,
    )
    if (section === 'top') {
      for (const { key } of required) out[`blueprint:${key}`] = file[`blueprint:${key}`] as string
      continue
    }
    const committed = JSON.parse(file[`blueprint:${section}`] ?? '{}') as Record<string, unknown>
    out[`blueprint:${section}`] = JSON.stringify(
      Object.fromEntries(required.map(({ key }) => [key, committed[key]])),
    )
  }
  return out
}

async function load(config: Record<string, string>) {
  // runUnderMocks layers config over the stack file; every key of the stack file is overridden here.
  const file = Object.fromEntries(Object.keys(stackConfig('us-east')).map((k) => [k, '']))
  return (await runUnderMocks('us-east', { ...file, ...config }, () => loadConfig())).result
}

describe('infra config schema, loadConfig and docs/infrastructure.md', () => {
  it('docs/infrastructure.md carries the table generated from the schema (npm run docs:config -w infra)', () => {
    const doc = readFileSync(DOCS, 'utf8')
    expect(fields().length).to.be.greaterThan(50)
    expect(doc).to.include('| `network.cidr` | `10.0.0.0/16` |')
    expect(
      withGeneratedTable(doc) === doc,
      'the docs table is stale: run npm run docs:config -w infra',
    ).to.equal(true)
  })

  it('loadConfig gives every unset key the default the schema (and so the docs) states', async () => {
    const cfg = (await load(requiredOnly())) as unknown as Record<string, Record<string, unknown>>
    const context: SchemaContext = { project: 'blueprint', stack: 'us-east', region: 'us-east-1' }
    let checked = 0
    for (const { section, key, field } of fields()) {
      const got = section === 'top' ? (cfg as Record<string, unknown>)[key] : cfg[section]?.[key]
      if (field.default === undefined) {
        if (field.optional) expect(got, keyPath(section, key)).to.equal(undefined)
        continue
      }
      const want = typeof field.default === 'function' ? field.default(context) : field.default
      expect(got, keyPath(section, key)).to.deep.equal(want)
      checked++
    }
    expect(checked).to.be.greaterThan(40)
  })

  it('refuses a key the schema does not know, naming the section keys', async () => {
    const config = requiredOnly()
    const network = JSON.parse(config['blueprint:network'] ?? '{}') as Record<string, unknown>
    const err = await load({
      ...config,
      'blueprint:network': JSON.stringify({ ...network, cidrr: '10.1.0.0/16' }),
    }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).to.match(/unknown key network\.cidrr; network keys are cidr, azs,/)
  })

  it('parses by the schema: numbers and booleans as the CLI stores them (strings)', async () => {
    const config = requiredOnly()
    const cfg = await load({
      ...config,
      'blueprint:protect': 'false',
      'blueprint:dns': JSON.stringify({
        ...(JSON.parse(config['blueprint:dns'] ?? '{}') as object),
        healthCheckIntervalSeconds: '10',
      }),
    })
    expect(cfg.protect).to.equal(false)
    expect(cfg.dns.healthCheckIntervalSeconds).to.equal(10)
  })

  it('declares every config key the DR command prints (contract CONFIG_KEYS)', () => {
    const known = new Set(fields().map(({ section, key }) => keyPath(section, key)))
    expect(Object.values(CONFIG_KEYS).filter((k) => !known.has(k))).to.deep.equal([])
  })

  it('sets only environment names the service reads (contract ENV against app/src/config.ts)', () => {
    const source = readFileSync('app/src/config.ts', 'utf8')
    // By literal name, or through the contract (`read.keys(ENV.mfaEncryptionKey, ...)`).
    const literal = [...source.matchAll(/read\.\w+\(\s*'([A-Z0-9_]+)'/g)].map((m) => m[1])
    const viaContract = [...source.matchAll(/read\.\w+\(\s*ENV\.(\w+)/g)].map(
      (m) => ENV[m[1] as keyof typeof ENV],
    )
    const read = new Set([...literal, ...viaContract])
    expect(Object.values(ENV).filter((name) => !read.has(name))).to.deep.equal([])
  })
})
