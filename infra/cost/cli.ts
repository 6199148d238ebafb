// `npm run cost -- --stack us-east [--inventory out/plan/us-east.json] [--json] [--assume egressGb=5000]`
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type Assumptions, type CostInventory, DEFAULT_ASSUMPTIONS, estimate } from './estimate.js'
import { formatEstimate } from './report.js'

const STACKS = ['us-east', 'eu-west'] as const
const usage = `usage: npm run cost -- --stack ${STACKS.join('|')} [--inventory FILE] [--json] [--assume key=value ...]`

const { values } = parseArgs({
  options: {
    stack: { type: 'string' },
    inventory: { type: 'string' },
    json: { type: 'boolean', default: false },
    assume: { type: 'string', multiple: true, default: [] },
  },
})

const overrides: Partial<Assumptions> = {}
for (const kv of values.assume ?? []) {
  const [key, value] = kv.split('=')
  if (!key || !(key in DEFAULT_ASSUMPTIONS) || value === undefined || Number.isNaN(Number(value))) {
    console.error(`bad --assume "${kv}"; keys: ${Object.keys(DEFAULT_ASSUMPTIONS).join(', ')}`)
    process.exit(2)
  }
  overrides[key as keyof Assumptions] = Number(value)
}

let inventory: CostInventory
if (values.inventory) {
  // `npm run cost -w infra` runs in infra/; a relative path means the directory the user typed it in.
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), values.inventory)
  inventory = JSON.parse(readFileSync(file, 'utf8')) as CostInventory
  if (values.stack && inventory.stack !== values.stack) {
    console.error(`${values.inventory} holds stack ${inventory.stack}, not ${values.stack}`)
    process.exit(2)
  }
} else {
  const stack = values.stack as (typeof STACKS)[number] | undefined
  if (!stack || !STACKS.includes(stack)) {
    console.error(usage)
    process.exit(2)
  }
  // Pulumi captures a stack trace per internal promise; without source maps that is cheap.
  ;(Error as unknown as { prepareStackTrace?: unknown }).prepareStackTrace = undefined
  process.setSourceMapsEnabled(false)
  const { buildInventory } = await import('../plan/inventory.js')
  inventory = await buildInventory(stack)
}

const result = estimate(inventory, overrides)
process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatEstimate(result))
