import { expect } from 'chai'
import type { Inventory, InventoryResource } from '../plan/inventory.js'
import { type BuiltStack, buildStack, stackConfig } from '../plan/inventory.js'
import { mockId } from '../plan/mocks.js'
import type { StackName } from '../src/config.js'

const cache = new Map<string, Promise<BuiltStack>>()

/** Builds a stack under mocks from its real Pulumi.<stack>.yaml (plus overrides); memoized per config. */
export function stack(name: StackName, config: Record<string, string> = {}): Promise<BuiltStack> {
  const key = `${name}:${JSON.stringify(config)}`
  let built = cache.get(key)
  if (!built) {
    built = buildStack(name, { config })
    cache.set(key, built)
  }
  return built
}

/** Resources of one type, in registration order. */
export function all(inv: Inventory, type: string, filter: (r: InventoryResource) => boolean = () => true) {
  return inv.resources.filter((r) => r.type === type && filter(r))
}

/** The single resource of a type named exactly `name`, else whose name contains it; fails on zero or several. */
export function one(inv: Inventory, type: string, name = ''): InventoryResource {
  const exact = all(inv, type, (r) => r.name === name)
  const found = exact.length === 1 ? exact : all(inv, type, (r) => r.name.includes(name))
  expect(found, `${type} named *${name}*: ${found.map((r) => r.name).join(', ')}`).to.have.length(1)
  return found[0] as InventoryResource
}

/** True when `actual` contains every key of `expected`, recursively (arrays: same length, element-wise). */
export function matches(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return actual === expected
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matches(actual[i], e))
    )
  }
  if (actual === null || typeof actual !== 'object') return false
  return Object.entries(expected).every(([k, v]) => matches((actual as Record<string, unknown>)[k], v))
}

/** CDK-style `hasResourceProperties`: the resource's inputs include `expected` (deep, partial). */
export function hasProps(r: InventoryResource, expected: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(expected)) {
    expect(
      matches(r.inputs[key], value),
      `${r.type} ${r.name}.${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(r.inputs[key])}`,
    ).to.equal(true)
  }
}

/** Parses a JSON-string input (policies, container definitions, dashboards). */
export function json<T = unknown>(r: InventoryResource, key: string): T {
  const raw = r.inputs[key]
  expect(raw, `${r.name}.${key}`).to.be.a('string')
  return JSON.parse(raw as string) as T
}

/** Id the mocks gave a registered resource, to follow references between resources. */
export function idOf(r: InventoryResource): string {
  return mockId(r.type, r.name)
}

export interface PolicyStatement {
  Sid?: string
  Effect: string
  Action: string | string[]
  Resource: string | string[]
  Principal?: unknown
  Condition?: Record<string, Record<string, unknown>>
}

/** Statements of an IAM policy document held in a JSON-string input. */
export function statements(r: InventoryResource, key = 'policy'): PolicyStatement[] {
  return json<{ Statement: PolicyStatement[] }>(r, key).Statement
}

export const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v])

/** The one element of a list; fails when there are zero or several. */
export function only<T>(items: T[], what = 'items'): T {
  expect(items, what).to.have.length(1)
  return items[0] as T
}

/** A container definition as the task definition's `containerDefinitions` JSON holds it. */
export interface ContainerDefinition {
  name: string
  environment?: { name: string; value: string }[]
  secrets?: { name: string; valueFrom: string }[]
}

/** Stack config of `name` with the `service.<flag>` switches set (the operator has filled those secrets). */
export function serviceFlagsOn(name: StackName, ...flags: string[]): Record<string, string> {
  const key = 'blueprint:service'
  const service = JSON.parse(stackConfig(name)[key] ?? '{}') as Record<string, unknown>
  return { [key]: JSON.stringify({ ...service, ...Object.fromEntries(flags.map((f) => [f, true])) }) }
}

/** Stack config of `name` with the funding webhook on (the operator has set its secret). */
export function fundingWebhookOn(name: StackName): Record<string, string> {
  return serviceFlagsOn(name, 'fundingWebhook')
}

/** The service container of a stack's service task definition. */
export async function serviceContainer(
  name: StackName,
  config: Record<string, string> = {},
): Promise<ContainerDefinition> {
  const { inventory } = await stack(name, config)
  const containers = json<ContainerDefinition[]>(
    one(inventory, 'aws:ecs/taskDefinition:TaskDefinition', '-service'),
    'containerDefinitions',
  )
  return only(
    containers.filter((c) => c.name === 'service'),
    'service container',
  )
}

// What ECS would put in each secret-backed variable, shaped like the real value (the app's config
// loader checks the shape); FUNDING_WEBHOOK_SECRET needs at least 32 characters.
const SECRET_PLACEHOLDERS: Record<string, string> = {
  DATABASE_URL: 'postgresql://app@db.internal:5432/app',
  DATABASE_REPLICA_URL: 'postgresql://app@replica.internal:5432/app',
  FUNDING_WEBHOOK_SECRET: 'whsec_placeholder_of_the_providers_key_0123456789',
  // 32 bytes, base64, as `openssl rand -base64 32` gives the operator.
  MFA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
}

/** The service container's environment as ECS would hand it to the process (secrets as placeholders). */
export async function deployedEnv(
  name: StackName,
  config: Record<string, string> = {},
): Promise<Record<string, string>> {
  const app = await serviceContainer(name, config)
  const env = Object.fromEntries((app.environment ?? []).map((e) => [e.name, e.value]))
  for (const s of app.secrets ?? []) env[s.name] = SECRET_PLACEHOLDERS[s.name] ?? 'secret'
  return env
}
