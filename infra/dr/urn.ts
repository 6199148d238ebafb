import { pathToFileURL } from 'node:url'
import { PROJECT, STACK_REGIONS, type StackName, stackUrns } from '../../app/src/contract.js'

/** Resources whose URN workflows and runbooks target (`pulumi refresh --target`), by the key they pass. */
export const URN_KEYS = {
  'service-image': stackUrns.serviceImage,
  'writer-parameter': stackUrns.writerParameter,
  database: stackUrns.database,
} as const
export type UrnKey = keyof typeof URN_KEYS

/** The URN of `key` in `stack`, from the contract the program and its tests share; throws on an unknown key or stack. */
export function stackUrn(key: string, stack: string, project = PROJECT): string {
  const build = URN_KEYS[key as UrnKey]
  if (!build) throw new Error(`unknown resource "${key}"; one of: ${Object.keys(URN_KEYS).join(', ')}`)
  if (!(stack in STACK_REGIONS))
    throw new Error(`unknown stack "${stack}"; one of: ${Object.keys(STACK_REGIONS).join(', ')}`)
  return build(project, stack as StackName)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [key = '', stack = ''] = process.argv.slice(2)
  try {
    process.stdout.write(`${stackUrn(key, stack)}\n`)
  } catch (error) {
    process.stderr.write(`urn: ${(error as Error).message}\nusage: npm run -s urn -- <resource> <stack>\n`)
    process.exit(2)
  }
}

/**
 * A workflow step's script with each `$(npm run -s urn -- <key> <stack>)` and the variable assigned from it
 * replaced by the URN it prints for `stack`: how the offline model reads what a step targets.
 */
export function expandUrnCalls(script: string, stack: string): string {
  const call = /\$\(npm run -s urn -- ([\w-]+) "?[^")\s]+"?\)/g
  let out = script
  for (const m of script.matchAll(new RegExp(`(\\w+)=${call.source}`, 'g'))) {
    const [, variable, key] = m as unknown as [string, string, string]
    out = out.replaceAll(m[0], '').replaceAll(new RegExp(`\\$\\{?${variable}\\}?`, 'g'), stackUrn(key, stack))
  }
  return out.replace(call, (_, key: string) => stackUrn(key, stack))
}
