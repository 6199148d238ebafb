// Failback and drift: run the program the way an operator's printed steps and the deploy pipeline would, in
// memory, and compare the runs. A failback step must be accepted by the program (no config error, nothing the
// provider refuses) and replace nothing stateful; a drift preview right after a deploy must show no diff.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { failbackPlan } from '../../dr/failback.js'
import { buildTopology, conventionalDbIds, siteOf } from '../../dr/topology.js'
import { expandUrnCalls } from '../../dr/urn.js'
import type { StackName } from '../../src/config.js'
import {
  type BuildOptions,
  type BuiltStack,
  buildStack,
  type Inventory,
  PROJECT,
  stackConfig,
} from '../inventory.js'
import { type Change, harmful, replacements, replicaTimeoutError } from './replacement.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** Stack config as the engine holds it: `project:key` -> string (objects as JSON). */
export type StackConfigMap = Record<string, string>

/** `pulumi config set [--path] project:a.b value` applied to a config map, as the CLI would. */
export function configSet(config: StackConfigMap, key: string, value: string, path: boolean): StackConfigMap {
  if (!path || !key.includes('.')) return { ...config, [key]: value }
  const [top, ...rest] = key.split('.')
  const root = top as string
  const obj = config[root] ? (JSON.parse(config[root]) as Record<string, unknown>) : {}
  let cursor = obj
  for (const k of rest.slice(0, -1)) {
    cursor[k] = cursor[k] && typeof cursor[k] === 'object' ? cursor[k] : {}
    cursor = cursor[k] as Record<string, unknown>
  }
  cursor[rest.at(-1) as string] = value
  return { ...config, [root]: JSON.stringify(obj) }
}

/** One `pulumi up` of a printed plan, run in memory. */
export interface StepResult {
  step: string
  stack: string
  ok: boolean
  /** Config validation or provider errors (the program or the provider refuses the step). */
  errors: string[]
  /** Changes against the stack's previous run; `harmful` ones fail the step. */
  changes: Change[]
}

// Runs of the program are deterministic per (stack, config, parameters): the checks reuse them.
const runs = new Map<string, Promise<BuiltStack>>()
function cachedBuild(stack: StackName, opts: BuildOptions): Promise<BuiltStack> {
  const key = JSON.stringify([stack, opts])
  let run = runs.get(key)
  if (!run) {
    run = buildStack(stack, opts)
    runs.set(key, run)
  }
  return run
}

const SET = /pulumi config set --stack (\S+)( --path)? (\S+) (.+)$/
const UP = /pulumi up --stack (\S+)/
const UNPROTECT = /pulumi state unprotect --stack (\S+) '([^']+)'/

// "<urn of the us-east DB ...>" in a printed plan: the stack's own database (not a same-region reader).
function isWriterLike(r: { type: string; inputs: Record<string, unknown> }): boolean {
  const source = r.inputs.replicateSourceDb
  return r.type === 'aws:rds/instance:Instance' && (typeof source !== 'string' || source.startsWith('arn:'))
}

/**
 * Applies the `pulumi config set` lines of `plan` to the stacks' config in memory and runs the program at
 * each `pulumi up`, from `start` (the config each stack has when the plan begins). Placeholders (`<...>`) are
 * filled by `fill` or fail the step.
 */
export async function runPlan(
  plan: string[],
  start: Partial<Record<StackName, StackConfigMap>>,
  fill: (stack: string, key: string, placeholder: string) => string | undefined = () => undefined,
): Promise<StepResult[]> {
  const config: Partial<Record<string, StackConfigMap>> = { ...start }
  const previous = new Map<string, Inventory>()
  const results: StepResult[] = []
  const errors = new Map<string, string[]>()
  const build = async (stack: StackName) => {
    try {
      const built = await cachedBuild(stack, {
        config: overrides(stack, config[stack] ?? {}),
        allowProviderErrors: true,
      })
      return { inventory: built.inventory, errors: built.providerErrors }
    } catch (e) {
      return { errors: [(e as Error).message.split('\n')[0] ?? String(e)] }
    }
  }
  for (const stack of Object.keys(start) as StackName[]) {
    const first = await build(stack)
    if (first.inventory) previous.set(stack, structuredClone(first.inventory))
  }
  let label = ''
  for (const raw of plan) {
    // A shell comment after a command is not part of its value.
    const line = raw.replace(/\s+#.*$/, '').trim()
    const step = /^([A-Z](?:\.\d+)+)\s/.exec(line)
    if (step) label = step[1] as string
    const set = SET.exec(line)
    if (set) {
      const [, stack, path, key, value] = set as unknown as [
        string,
        string,
        string | undefined,
        string,
        string,
      ]
      const placeholder = /^<.*>$/.test(value)
      const filled = placeholder ? fill(stack, key, value) : value
      if (filled === undefined) {
        const list = errors.get(stack) ?? []
        list.push(`${key}: placeholder ${value} has no value`)
        errors.set(stack, list)
      } else config[stack] = configSet(config[stack] ?? stackConfig(stack as StackName), key, filled, !!path)
      continue
    }
    const unprotect = UNPROTECT.exec(line)
    if (unprotect) {
      // `pulumi state unprotect` clears the flag in state only: the next up may replace what it names.
      const before = previous.get(unprotect[1] as string)
      const target = unprotect[2] as string
      for (const r of before?.resources ?? []) {
        const matches = target.startsWith('<') ? /\bDB\b/.test(target) && isWriterLike(r) : r.urn === target
        if (matches && r.options?.protect) r.options = { ...r.options, protect: false }
      }
      continue
    }
    const up = UP.exec(line)
    if (!up) continue
    const stack = up[1] as StackName
    const run = await build(stack)
    const before = previous.get(stack)
    const changes = run.inventory && before ? replacements(before, run.inventory) : []
    // A replica created or replaced in this step must be given the time its creation takes.
    for (const c of changes) {
      if (c.action === 'delete' || c.error) continue
      const r = run.inventory?.resources.find((x) => x.urn === c.urn)
      const error = r && replicaTimeoutError(r, run.inventory?.region ?? '')
      if (error) c.error = error
    }
    const stepErrors = [...(errors.get(stack) ?? []), ...run.errors]
    errors.delete(stack)
    if (run.inventory) previous.set(stack, structuredClone(run.inventory))
    results.push({
      step: label,
      stack,
      ok: !stepErrors.length && !harmful(changes).length,
      errors: stepErrors,
      changes,
    })
  }
  return results
}

// Only keys that differ from the committed file are overrides; the build merges them over the file.
function overrides(stack: StackName, config: StackConfigMap): StackConfigMap {
  const file = stackConfig(stack)
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => file[k] !== v))
}

/** The failback plan `npm run dr -- failback-plan --region <writer>` prints, after eu-west was promoted. */
export function printedFailbackPlan(writer: StackName = 'eu-west'): string[] {
  const topology = buildTopology({ pulumiOrg: 'organization' })
  return failbackPlan(topology, siteOf(topology, writer))
}

/** Runs the printed failback plan from the state a promotion leaves (the promoted stack says `role: primary`). */
export async function failbackCheck(
  plan = printedFailbackPlan(),
  promoted: StackName = 'eu-west',
): Promise<StepResult[]> {
  const home: StackName = promoted === 'eu-west' ? 'us-east' : 'eu-west'
  const start = {
    [home]: stackConfig(home),
    [promoted]: configSet(stackConfig(promoted), `${PROJECT}:database.role`, 'primary', true),
  } as Partial<Record<StackName, StackConfigMap>>
  // The plan's rebuilt instance takes the conventional identifier the current one does not have; any other
  // placeholder ("<readers it ran before the failover>") means the value the committed stack file holds.
  const fill = (stack: string, key: string) => {
    const committed = JSON.parse(stackConfig(stack as StackName)[`${PROJECT}:database`] ?? '{}')
    if (key.endsWith('database.identifier')) {
      const [primary, replica] = conventionalDbIds(PROJECT, stack)
      return committed.identifier === replica ? primary : replica
    }
    return committedValue(stack as StackName, key)
  }
  return runPlan(plan, start, fill)
}

/** The committed stack file's value at a `project:a.b` config path, as a string. */
function committedValue(stack: StackName, key: string): string | undefined {
  const [top, ...path] = key.split('.')
  let v: unknown = stackConfig(stack)[top as string]
  if (path.length)
    v = path.reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      typeof v === 'string' ? JSON.parse(v) : v,
    )
  return v === undefined ? undefined : String(v)
}

/** What a deploy job persists and what stays on the runner. */
export interface DeployEffects {
  /** `pulumi config set` paths on the runner's checkout (lost unless a later step commits and pushes them). */
  runnerConfig: string[]
  /** Whether the job commits and pushes the stack file afterwards. */
  commitsStackFile: boolean
  /** SSM parameters the job writes (`aws ssm put-parameter --name`), with `$STACK` filled in. */
  parameters: string[]
  /** Parameters named by a stack output (`--name "$(jq -er '.imageParameter' outputs.json)"`): output keys. */
  parameterOutputs: string[]
  /** Whether the job refreshes before its up (`--refresh`, `refresh: true`, or `pulumi refresh` of the image parameter). */
  refreshes: boolean
}

/** Reads a deploy workflow's steps for what it records where. */
export function deployEffects(workflow: string, stack: string, imageConfigPath: string): DeployEffects {
  type Step = { run?: string; with?: Record<string, unknown> }
  const doc = parse(workflow) as { jobs?: Record<string, { steps?: Step[] }> }
  const steps = Object.values(doc.jobs ?? {}).flatMap((j) => j.steps ?? [])
  const sub = (s: string) =>
    s
      .replace(/\$\{\{\s*inputs\.stack\s*\}\}|\$\{STACK\}|\$STACK\b/g, stack)
      .replace(
        /\$\{\{\s*inputs\.image-config-path\s*\}\}|\$\{CONFIG_PATH\}|\$CONFIG_PATH\b/g,
        imageConfigPath,
      )
      .replace(/"/g, '')
  const out: DeployEffects = {
    runnerConfig: [],
    commitsStackFile: false,
    parameters: [],
    parameterOutputs: [],
    refreshes: false,
  }
  for (const step of steps) {
    const run = step.run ?? ''
    for (const m of run.matchAll(/pulumi config set\b[^\n]*?--path\s+(\S+)/g))
      out.runnerConfig.push(sub(m[1] as string))
    for (const m of run.matchAll(/aws ssm put-parameter\b[^\n]*?--name\s+("(?:[^"\\]|\\.)*"|\S+)/g)) {
      const name = m[1] as string
      const output = /jq\b[^']*'\.(\w+)'/.exec(name)
      if (output) out.parameterOutputs.push(output[1] as string)
      else out.parameters.push(sub(name))
    }
    if (/git commit\b/.test(run) && /git push\b/.test(run)) out.commitsStackFile = true
    if (
      /pulumi up\b[^\n]*--refresh(?!=false)/.test(run) ||
      (step.with?.command === 'up' && step.with?.refresh === true)
    )
      out.refreshes = true
    // A `pulumi refresh` before the up reads SSM into the state too: whole, or targeted at the image parameter.
    const refresh = /pulumi refresh\b[\s\S]*/.exec(expandUrnCalls(run, stack))?.[0]
    if (refresh && (!/--target\b/.test(refresh) || /--target\s+\S*service-image/.test(refresh)))
      out.refreshes = true
  }
  return out
}

/** A resource whose inputs a drift preview after the deploy would change. */
export interface DriftDiff {
  name: string
  type: string
  keys: string[]
}

/**
 * Deploys `image` to `stack` as the workflow does (runner config + SSM writes), then runs the program as the
 * nightly drift job does (the committed stack file + SSM): every resource whose inputs differ is a diff.
 */
export async function driftAfterDeploy(
  stack: StackName,
  image: string,
  workflow = readFileSync(join(repoRoot, '.github', 'workflows', 'deploy-stack.yml'), 'utf8'),
  imageConfigPath = 'service.image',
): Promise<{ effects: DeployEffects; diffs: DriftDiff[]; deployed: boolean; ssm: string[] }> {
  const effects = deployEffects(workflow, stack, imageConfigPath)
  const named = [...effects.parameters]
  if (effects.parameterOutputs.length) {
    // The job reads these names from `pulumi stack output`: resolve them from a run of the committed stack.
    const built = await cachedBuild(stack, { allowProviderErrors: true })
    const outputs = built.outputs as unknown as Record<string, unknown>
    for (const key of effects.parameterOutputs) {
      if (outputs[key] !== undefined) named.push(String(await built.resolve(outputs[key] as string)))
    }
  }
  const ssm = Object.fromEntries(named.map((p) => [p, image]))
  let deployConfig = stackConfig(stack)
  for (const path of effects.runnerConfig)
    deployConfig = configSet(deployConfig, `${PROJECT}:${path}`, image, true)
  const committed = effects.commitsStackFile ? deployConfig : stackConfig(stack)
  // SSM reaches a run through a data source read or a refresh; the drift job always refreshes.
  const deployed = (
    await cachedBuild(stack, {
      allowProviderErrors: true,
      parameters: ssm,
      refresh: effects.refreshes,
      config: overrides(stack, deployConfig),
    })
  ).inventory
  const drift = (
    await cachedBuild(stack, {
      allowProviderErrors: true,
      parameters: ssm,
      config: overrides(stack, committed),
    })
  ).inventory
  const after = new Map(drift.resources.map((r) => [r.urn, r]))
  const diffs: DriftDiff[] = []
  for (const r of deployed.resources) {
    const d = after.get(r.urn)
    if (!d) {
      diffs.push({ name: r.name, type: r.type, keys: ['(deleted)'] })
      continue
    }
    const keys = [...new Set([...Object.keys(r.inputs), ...Object.keys(d.inputs)])].filter(
      (k) => JSON.stringify(r.inputs[k]) !== JSON.stringify(d.inputs[k]),
    )
    if (keys.length) diffs.push({ name: r.name, type: r.type, keys })
  }
  // A deploy that never reaches the task definition would trivially show no drift.
  const shipped = deployed.resources.some((r) => JSON.stringify(r.inputs).includes(image))
  return { effects, diffs, deployed: shipped, ssm: named }
}
