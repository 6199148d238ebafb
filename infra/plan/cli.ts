// `npm run plan -- --stack us-east`: build a stack offline under mocks, write out/plan/<stack>.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { STACK_REGIONS, type StackName } from '../src/config.js'
import { buildStack } from './inventory.js'
import { inventoryMarkdown } from './markdown.js'

// Pulumi captures a stack trace per internal promise; without source maps that is cheap.
;(Error as unknown as { prepareStackTrace?: unknown }).prepareStackTrace = undefined
process.setSourceMapsEnabled(false)

const args = process.argv.slice(2)
const i = args.indexOf('--stack')
const requested = i >= 0 ? args[i + 1] : undefined
const known = Object.keys(STACK_REGIONS) as StackName[]
if (i >= 0 && !known.includes(requested as StackName)) {
  console.error(`usage: npm run plan -- [--stack ${known.join('|')}] [--out DIR]  (no --stack: every stack)`)
  process.exit(2)
}
const stacks = requested ? [requested as StackName] : known
const o = args.indexOf('--out')
const outDir =
  (o >= 0 ? args[o + 1] : undefined) ??
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'plan')
mkdirSync(outDir, { recursive: true })

let refused = 0
for (const stack of stacks) {
  // Written out even when the provider would refuse something, so the reviewer sees what was asked for.
  const { inventory, providerErrors } = await buildStack(stack, { allowProviderErrors: true })
  for (const e of providerErrors) console.error(`${stack}: the AWS provider would fail: ${e}`)
  refused += providerErrors.length
  const json = join(outDir, `${stack}.json`)
  const md = join(outDir, `${stack}.md`)
  writeFileSync(json, `${JSON.stringify(inventory, null, 2)}\n`)
  writeFileSync(md, inventoryMarkdown(inventory))
  console.log(
    `${stack}: ${inventory.resources.length} resources -> ${relative(process.cwd(), json)}, ${relative(process.cwd(), md)}`,
  )
}
if (refused) process.exit(1)
