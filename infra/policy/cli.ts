// `npm run policy -- --stack us-east` or `--inventory out/plan/us-east.json`: the guard rails over a
// stack's offline inventory, without the Pulumi CLI (a fork's pull request gets this much feedback).
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'
import type { Inventory } from '../plan/inventory.js'
import { withMockOutputs } from './inventory.js'
import { runPolicies } from './run.js'

const STACKS = ['us-east', 'eu-west'] as const
const { values } = parseArgs({ options: { stack: { type: 'string' }, inventory: { type: 'string' } } })

let inventory: Inventory
if (values.inventory) {
  // `npm run policy -w infra` runs in infra/; a relative path means the directory the user typed it in.
  inventory = JSON.parse(
    readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), values.inventory), 'utf8'),
  )
} else {
  const stack = values.stack as (typeof STACKS)[number] | undefined
  if (!stack || !STACKS.includes(stack)) {
    console.error(`usage: npm run policy -- --stack ${STACKS.join('|')} | --inventory FILE`)
    process.exit(2)
  }
  // Pulumi captures a stack trace per internal promise; without source maps that is cheap.
  ;(Error as unknown as { prepareStackTrace?: unknown }).prepareStackTrace = undefined
  process.setSourceMapsEnabled(false)
  const { buildInventory } = await import('../plan/inventory.js')
  inventory = await buildInventory(stack)
}

// The default provider's tags live in stack config, which an inventory does not carry.
const configFile = join(import.meta.dirname, '..', '..', `Pulumi.${inventory.stack}.yaml`)
let defaultTags: Record<string, string> | undefined
try {
  const config = (parse(readFileSync(configFile, 'utf8')) as { config?: Record<string, unknown> }).config
  defaultTags = (config?.['aws:defaultTags'] as { tags?: Record<string, string> } | undefined)?.tags
} catch {
  defaultTags = undefined
}

const violations = await runPolicies(withMockOutputs(inventory), undefined, { defaultTags })
for (const v of violations) console.log(`${v.policy}: ${v.message}${v.name ? ` (${v.name})` : ''}`)
console.log(`${inventory.stack}: ${inventory.resources.length} resources, ${violations.length} violation(s)`)
process.exit(violations.length ? 1 : 0)
