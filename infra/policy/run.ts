// Runs the pack in-process over an offline resource inventory, the way the engine would call it:
// every resource validation per resource, then every stack validation over the whole stack.
import type {
  Policies,
  PolicyConfigSchema,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidation,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from '@pulumi/policy'
import { guardrails } from './policies.js'

/** One inventory resource, as `infra/plan/inventory.ts` records it (extra fields are optional). */
export interface PackResource {
  type: string
  name: string
  urn: string
  parent?: string
  /** Provider reference `URN::id` of an explicit provider; absent for the default provider. */
  provider?: string
  custom?: boolean
  inputs: Record<string, unknown>
  /** Outputs returned by the mocks, when the inventory kept them; used to match references by value. */
  outputs?: Record<string, unknown>
  options?: { protect?: boolean; retainOnDelete?: boolean; ignoreChanges?: string[] }
  /** URNs each input depends on, when the inventory kept them. */
  propertyDependencies?: Record<string, string[]>
}

/** A stack's inventory. */
export interface PackInventory {
  project: string
  stack: string
  region: string
  resources: PackResource[]
}

/** One reported violation. */
export interface Violation {
  policy: string
  message: string
  urn?: string
  name?: string
}

/** Options for an offline run. */
export interface RunOptions {
  /** Default tags of the default provider (stack config `aws:defaultTags`), which an inventory cannot see. */
  defaultTags?: Record<string, string>
  /** Per-policy config, as given to `--policy-pack-config`. */
  config?: Record<string, Record<string, unknown>>
}

class NotApplicable extends Error {}

function configFor(schema: PolicyConfigSchema | undefined, given: Record<string, unknown> | undefined) {
  const defaults = Object.fromEntries(
    Object.entries(schema?.properties ?? {}).flatMap(([k, v]) => ('default' in v ? [[k, v.default]] : [])),
  )
  return { ...defaults, ...given }
}

const urnOfProviderRef = (ref: string) => ref.slice(0, ref.lastIndexOf('::')) || ref

function options(r: PackResource): PolicyResourceOptions {
  return {
    protect: r.options?.protect ?? false,
    ignoreChanges: r.options?.ignoreChanges ?? [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    parent: r.parent,
  }
}

const unsupported = (): never => {
  throw new Error('isType/asType need @pulumi/aws classes; the guard rails compare type tokens instead')
}

/** Runs `policies` (default: all guard rails) over an inventory; returns every violation. */
export async function runPolicies(
  inventory: PackInventory,
  policies: Policies = guardrails,
  opts: RunOptions = {},
): Promise<Violation[]> {
  const byUrn = new Map(inventory.resources.map((r) => [r.urn, r]))
  const defaultProvider: PolicyProviderResource = {
    type: 'pulumi:providers:aws',
    name: 'default',
    urn: 'default',
    props: {
      region: inventory.region,
      ...(opts.defaultTags ? { defaultTags: { tags: opts.defaultTags } } : {}),
    },
  }
  const providerOf = (r: PackResource): PolicyProviderResource | undefined => {
    if (!r.type.startsWith('aws:')) return undefined
    const p = r.provider ? byUrn.get(urnOfProviderRef(r.provider)) : undefined
    return p ? { type: p.type, name: p.name, urn: p.urn, props: p.inputs } : defaultProvider
  }

  // Stack validations see every resource linked to its parent and dependencies, as the engine gives them.
  const resources = new Map<string, PolicyResource>()
  for (const r of inventory.resources) {
    resources.set(r.urn, {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: { ...r.inputs, ...r.outputs },
      opts: options(r),
      provider: providerOf(r),
      dependencies: [],
      propertyDependencies: {},
      isType: unsupported,
      asType: unsupported,
    })
  }
  for (const r of inventory.resources) {
    const pr = resources.get(r.urn) as PolicyResource
    pr.parent = r.parent ? resources.get(r.parent) : undefined
    for (const [prop, urns] of Object.entries(r.propertyDependencies ?? {})) {
      const deps = urns.flatMap((u) => resources.get(u) ?? [])
      pr.propertyDependencies[prop] = deps
      pr.dependencies.push(...deps)
    }
  }

  const violations: Violation[] = []
  for (const policy of policies) {
    const config = configFor(policy.configSchema, opts.config?.[policy.name])
    const common = {
      stackTags: new Map<string, string>(),
      getConfig: <T extends object>() => config as T,
      notApplicable: (reason?: string): never => {
        throw new NotApplicable(reason)
      },
    }
    const stackPolicy = policy as StackValidationPolicy
    if (stackPolicy.validateStack) {
      try {
        await stackPolicy.validateStack({ ...common, resources: [...resources.values()] }, (message, urn) =>
          violations.push({
            policy: policy.name,
            message,
            urn,
            name: urn ? byUrn.get(urn)?.name : undefined,
          }),
        )
      } catch (e) {
        if (!(e instanceof NotApplicable)) throw e
      }
      continue
    }
    const validate = (policy as ResourceValidationPolicy).validateResource
    const validations: ResourceValidation[] = Array.isArray(validate) ? validate : validate ? [validate] : []
    for (const r of inventory.resources) {
      const args = {
        ...common,
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.inputs,
        opts: options(r),
        provider: providerOf(r),
        isType: unsupported,
        asType: unsupported,
      }
      for (const v of validations) {
        try {
          await v(args, (message) =>
            violations.push({ policy: policy.name, message, urn: r.urn, name: r.name }),
          )
        } catch (e) {
          if (!(e instanceof NotApplicable)) throw e
        }
      }
    }
  }
  return violations
}
