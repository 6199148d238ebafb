import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as pulumi from '@pulumi/pulumi'
import { parse } from 'yaml'
import { PROJECT as CONTRACT_PROJECT } from '../../app/src/contract.js'
import { loadConfig, STACK_REGIONS, type StackName } from '../src/config.js'
import { buildRegion, type RegionOutputs } from '../src/region.js'
import { AwsMocks, MOCK_ACCOUNT } from './mocks.js'

/** One resource the program registered, as the engine would receive it. */
export interface InventoryResource {
  /** Pulumi type token, e.g. `aws:rds/instance:Instance`. */
  type: string
  name: string
  urn: string
  parent?: string
  /** Provider reference (`urn::id`) for custom resources. */
  provider?: string
  custom: boolean
  /** Old URNs this resource answers for (`aliases` option, URN form): a refactor that moved it keeps its state. */
  aliases?: string[]
  /** Inputs as registered; secrets render as "[secret]", unknowns as "[unknown]". */
  inputs: Record<string, unknown>
  options?: {
    protect?: boolean
    retainOnDelete?: boolean
    deleteBeforeReplace?: boolean
    ignoreChanges?: string[]
    /** Pulumi customTimeouts (Go durations such as `3h`); unset means the provider's default. */
    customTimeouts?: { create?: string; update?: string; delete?: string }
  }
}

/** Everything one stack registers, offline. */
export interface Inventory {
  project: string
  stack: string
  region: string
  resources: InventoryResource[]
}

/** Project name from Pulumi.yaml (the contract module's). */
export const PROJECT = CONTRACT_PROJECT

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The stack's config file as the engine hands it to the program: `project:key` -> string (objects as JSON). */
export function stackConfig(stack: StackName): Record<string, string> {
  const file = join(repoRoot, `Pulumi.${stack}.yaml`)
  const doc = parse(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> }
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    out[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return out
}

/** Fake outputs of another stack of this project, shaped like what `infra/index.ts` exports. */
export function mockStackOutputs(fullName: string): Record<string, unknown> {
  const stack = fullName.split('/').pop() ?? fullName
  const region = STACK_REGIONS[stack as StackName] ?? 'us-east-1'
  const id = `${PROJECT}-${stack}-db`
  const address = `${id}.c9akciq32.${region}.rds.amazonaws.com`
  return {
    dbIdentifier: id,
    dbArn: `arn:aws:rds:${region}:${MOCK_ACCOUNT}:db:${id}`,
    dbAddress: address,
    dbEndpoint: `${address}:5432`,
    kmsKeyArn: `arn:aws:kms:${region}:${MOCK_ACCOUNT}:key/mrk-0123`,
    cdnDistributionArn: `arn:aws:cloudfront::${MOCK_ACCOUNT}:distribution/E2MOCKDIST0123`,
  }
}

export interface BuiltStack {
  inventory: Inventory
  outputs: RegionOutputs
  /** Resolves an output of the built program to its plain value. */
  resolve<T>(o: pulumi.Input<T>): Promise<T>
  /** URNs a resource waits for before the engine creates it (explicit dependsOn plus input references). */
  dependencies(urn: string): string[]
  /** What the real provider would refuse (only with `allowProviderErrors`; otherwise the build fails). */
  providerErrors: string[]
}

const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270'
const SIG_KEY = '4dabf18193072939515e22adb298388d'
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9'

function plain(value: unknown): unknown {
  if (value === UNKNOWN || pulumi.Output.isInstance(value)) return '[unknown]'
  if (Array.isArray(value)) return value.map(plain)
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>
    if (obj[SIG_KEY] === SECRET_SIG) return '[secret]'
    if (pulumi.Resource.isInstance(value)) return '[resource]'
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

interface RegisterRequest {
  getType(): string
  getName(): string
  getParent(): string
  getProvider(): string
  getCustom(): boolean
  getObject(): unknown
  getProtect(): boolean | undefined
  getRetainondelete(): boolean | undefined
  getDeletebeforereplace(): boolean | undefined
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined
  getIgnorechangesList(): string[]
  getDependenciesList(): string[]
  getAliasesList(): { getUrn(): string; getSpec(): AliasSpec | undefined }[]
}
interface AliasSpec {
  getName(): string
  getType(): string
  getStack(): string
  getProject(): string
  getParenturn(): string
  getNoparent(): boolean
}

/**
 * The URN an alias names. Aliases arrive as URNs or, when the engine supports it, as specs (name, type, parent...)
 * whose unset parts default to the resource's own; a child of the root stack has no parent type in its URN.
 */
function aliasUrn(
  alias: { getUrn(): string; getSpec(): AliasSpec | undefined },
  req: RegisterRequest,
): string {
  const spec = alias.getSpec()
  if (alias.getUrn() || !spec) return alias.getUrn()
  const parent = spec.getNoparent() ? '' : spec.getParenturn() || req.getParent()
  const parentType = parent ? (parent.split('::')[2] ?? '') : ''
  const chain = parentType && parentType !== 'pulumi:pulumi:Stack' ? `${parentType}$` : ''
  return `urn:pulumi:${spec.getStack() || pulumi.getStack()}::${spec.getProject() || pulumi.getProject()}::${chain}${spec.getType() || req.getType()}::${spec.getName() || req.getName()}`
}
/** What a run under mocks registered. */
export interface Captured<T> {
  result: T
  resources: InventoryResource[]
  dependencies: Map<InventoryResource, string[]>
  providerErrors: string[]
}

interface ReadRequest {
  getType(): string
  getName(): string
  getParent(): string
  getProvider(): string
  getProperties(): unknown
}
type Callback = (err: unknown, resp?: { getUrn(): string }) => void
interface MockMonitorLike {
  registerResource(req: RegisterRequest, cb: Callback): unknown
  readResource(req: ReadRequest, cb: Callback): unknown
}

// setMocks and config are process-wide: builds run one at a time.
let queue: Promise<unknown> = Promise.resolve()

/** What a build may vary: config overrides and the SSM parameters that exist outside the stack files. */
export interface BuildOptions {
  config?: Record<string, string>
  /** SSM parameter name -> value, answered to `aws.ssm.getParameter` (e.g. where a deploy records the image). */
  parameters?: Record<string, string>
  /** Whether the run refreshes first (managed SSM parameters then carry the `parameters` values). @default true */
  refresh?: boolean
  /** Return the errors the real provider would raise (BuiltStack.providerErrors) instead of failing the build. */
  allowProviderErrors?: boolean
}

/** Runs the program for `stack` under mocks and returns what it registered plus its outputs. */
export function buildStack(stack: StackName, opts: BuildOptions = {}): Promise<BuiltStack> {
  const run = queue.then(() => buildOnce(stack, opts))
  queue = run.catch(() => undefined)
  return run
}

/** The inventory contract consumed by the policy pack and the cost report. */
export async function buildInventory(stack: 'us-east' | 'eu-west', opts?: BuildOptions): Promise<Inventory> {
  return (await buildStack(stack, opts)).inventory
}

/**
 * Runs `program` for `stack` under mocks, one build at a time, and returns what it registered.
 * `program` may build the region itself or import the real entry point (`infra/index.ts`).
 */
export function runUnderMocks<T>(
  stack: StackName,
  config: Record<string, string>,
  program: () => T | Promise<T>,
  opts: Pick<BuildOptions, 'parameters' | 'refresh' | 'allowProviderErrors'> = {},
): Promise<Captured<T>> {
  const run = queue.then(() => capture(stack, config, program, opts))
  queue = run.catch(() => undefined)
  return run
}

async function buildOnce(stack: StackName, opts: BuildOptions): Promise<BuiltStack> {
  const {
    result: outputs,
    resources,
    dependencies,
    providerErrors,
  } = await capture(stack, opts.config ?? {}, () => buildRegion(loadConfig()), opts)
  return {
    inventory: { project: PROJECT, stack, region: STACK_REGIONS[stack], resources },
    outputs,
    resolve: <T>(o: pulumi.Input<T>) => resolveOutput(o),
    dependencies: (urn: string) => {
      const r = resources.find((x) => x.urn === urn)
      return (r && dependencies.get(r)) ?? []
    },
    providerErrors,
  }
}

async function capture<T>(
  stack: StackName,
  config: Record<string, string>,
  program: () => T | Promise<T>,
  opts: Pick<BuildOptions, 'parameters' | 'refresh' | 'allowProviderErrors'> = {},
): Promise<Captured<T>> {
  const region = STACK_REGIONS[stack]
  const mocks = new AwsMocks(region, mockStackOutputs, {
    ...(opts.parameters ? { parameters: opts.parameters } : {}),
    ...(opts.refresh === undefined ? {} : { refresh: opts.refresh }),
  })
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, false)
  pulumi.runtime.setAllConfig({ ...stackConfig(stack), ...config })

  const resources: InventoryResource[] = []
  const dependencies = new Map<InventoryResource, string[]>()
  const failures: unknown[] = []
  let inFlight = 0
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike
  const original = monitor.registerResource.bind(monitor)
  monitor.registerResource = (req, cb) => {
    inFlight++
    mocks.ignoreChanges.set(req.getName(), req.getIgnorechangesList())
    const options: InventoryResource['options'] = {}
    if (req.getProtect()) options.protect = true
    if (req.getRetainondelete()) options.retainOnDelete = true
    if (req.getDeletebeforereplace()) options.deleteBeforeReplace = true
    if (req.getIgnorechangesList().length) options.ignoreChanges = req.getIgnorechangesList()
    const timeouts = req.getCustomtimeouts()
    const customTimeouts = Object.fromEntries(
      (['create', 'update', 'delete'] as const)
        .map((k) => [
          k,
          k === 'create'
            ? timeouts?.getCreate()
            : k === 'update'
              ? timeouts?.getUpdate()
              : timeouts?.getDelete(),
        ])
        .filter(([, v]) => v),
    )
    if (Object.keys(customTimeouts).length) options.customTimeouts = customTimeouts
    const aliases = req
      .getAliasesList()
      .map((a) => aliasUrn(a, req))
      .filter(Boolean)
    const entry: InventoryResource = {
      type: req.getType(),
      name: req.getName(),
      urn: '',
      ...(req.getParent() ? { parent: req.getParent() } : {}),
      ...(req.getProvider() ? { provider: req.getProvider() } : {}),
      custom: req.getCustom(),
      ...(aliases.length ? { aliases } : {}),
      inputs: plain(pulumi.runtime.deserializeProperties(req.getObject() as never)) as Record<
        string,
        unknown
      >,
      ...(Object.keys(options).length ? { options } : {}),
    }
    resources.push(entry)
    dependencies.set(entry, req.getDependenciesList())
    return original(req, (err, resp) => {
      inFlight--
      if (err) failures.push(err)
      if (resp) entry.urn = resp.getUrn()
      cb(err, resp)
    })
  }

  // Reads (StackReferences) are recorded too: they show which other stacks this one depends on.
  const originalRead = monitor.readResource.bind(monitor)
  monitor.readResource = (req, cb) => {
    inFlight++
    const entry: InventoryResource = {
      type: req.getType(),
      name: req.getName(),
      urn: '',
      ...(req.getParent() ? { parent: req.getParent() } : {}),
      ...(req.getProvider() ? { provider: req.getProvider() } : {}),
      custom: true,
      inputs: plain(pulumi.runtime.deserializeProperties(req.getProperties() as never)) as Record<
        string,
        unknown
      >,
    }
    resources.push(entry)
    return originalRead(req, (err, resp) => {
      inFlight--
      if (err) failures.push(err)
      if (resp) entry.urn = resp.getUrn()
      cb(err, resp)
    })
  }

  const result = await program()
  const settle = async () => {
    // Registrations chain on each other's outputs; wait until nothing is pending and nothing new arrives.
    let quiet = 0
    let seen = -1
    while (quiet < 5) {
      await new Promise((r) => setImmediate(r))
      if (inFlight === 0 && resources.length === seen) quiet++
      else quiet = 0
      seen = resources.length
    }
  }
  await settle()
  // Outputs resolve last; anything registered while they resolve is still part of the stack.
  await drain(result)
  await settle()
  if (failures.length) throw failures[0]
  const missing = resources.filter((r) => !r.urn)
  if (missing.length)
    throw new Error(`registrations never completed: ${missing.map((r) => r.name).join(', ')}`)
  const providerErrors = [...mocks.providerErrors]
  if (providerErrors.length && !opts.allowProviderErrors)
    throw new Error(`${stack}: the AWS provider would fail:\n  ${providerErrors.join('\n  ')}`)
  return { result, resources, dependencies, providerErrors }
}

/** Resolves every output found in a program's result (a RegionOutputs or a module namespace). */
async function drain(result: unknown): Promise<void> {
  if (!result || typeof result !== 'object') return
  await Promise.all(
    Object.values(result).map((v) =>
      Array.isArray(v) ? Promise.all(v.map(resolveOutput)) : resolveOutput(v),
    ),
  )
}

function resolveOutput<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)))
}
