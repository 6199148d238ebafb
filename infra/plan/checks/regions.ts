// Region loss: what a stack needs from a region other than its own, and what it needs from a global service's
// control plane. While that region is down, a resource in it blocks `pulumi up` (refresh and update call its API),
// so the DR region must list none. Global services (IAM, Route 53, CloudFront, ...) are different: AWS runs their
// data plane everywhere (IAM authorizes, Route 53 answers DNS and runs health checks during a us-east-1 outage) but
// their control plane in one region (AWS Fault Isolation Boundaries whitepaper, "Global services" and
// "Appendix A - Partitional service guidance"). The DR region may own such resources, created at bootstrap; its
// DR path must not write them, and must not read them either (a refresh is a control-plane read).
import type { Inventory, InventoryResource } from '../inventory.js'

/** One resource or provider of a stack that lives in another region. */
export interface ForeignRegionEntry {
  stack: string
  type: string
  name: string
  region: string
  /** `provider` (an explicit provider with `region`), `resource via <provider>`, or `region argument`. */
  via: string
}

const PROVIDER = 'pulumi:providers:aws'

/**
 * Global services by the module of their type token (`aws:<module>/...`), with the region of their control plane.
 * Route 53 Resolver and Profiles share the `route53` module but are regional services.
 */
const GLOBAL_MODULES: Record<string, string> = {
  iam: 'us-east-1',
  organizations: 'us-east-1',
  account: 'us-east-1',
  route53: 'us-east-1',
  route53domains: 'us-east-1',
  cloudfront: 'us-east-1',
  // WAF Classic (global); `wafregional` is regional.
  waf: 'us-east-1',
  shield: 'us-east-1',
  globalaccelerator: 'us-west-2',
  route53recoverycontrol: 'us-west-2',
  route53recoveryreadiness: 'us-west-2',
  networkmanager: 'us-west-2',
}
const REGIONAL_IN_GLOBAL_MODULE = /^aws:route53\/(resolver|profiles)/

/** Region hosting the control plane of `r`'s service when that service is global; undefined when regional. */
export function globalControlPlane(r: Pick<InventoryResource, 'type' | 'inputs'>): string | undefined {
  if (REGIONAL_IN_GLOBAL_MODULE.test(r.type)) return undefined
  // WAFv2 is regional except for the CLOUDFRONT scope, whose web ACLs live with CloudFront.
  if (r.type.startsWith('aws:wafv2/')) return r.inputs.scope === 'CLOUDFRONT' ? 'us-east-1' : undefined
  const module = /^aws:([a-z0-9]+)\//.exec(r.type)?.[1]
  return module ? GLOBAL_MODULES[module] : undefined
}

/** A resource of a global service a stack owns. */
export interface GlobalEntry {
  stack: string
  type: string
  name: string
  urn: string
  /** Region of the service's control plane: every create, update, delete and refresh of it calls there. */
  controlPlane: string
}

/** Every resource of `inv` in a global service. */
export function globalResources(inv: Inventory): GlobalEntry[] {
  return inv.resources.flatMap((r) => {
    const controlPlane = r.custom ? globalControlPlane(r) : undefined
    return controlPlane ? [{ stack: inv.stack, type: r.type, name: r.name, urn: r.urn, controlPlane }] : []
  })
}

/** A global-service resource a `pulumi up` from one run to the next would create, update or delete. */
export interface GlobalWrite extends GlobalEntry {
  action: 'create' | 'update' | 'delete'
  /** Inputs that differ (update only). */
  inputs: string[]
}

/**
 * What `pulumi up` would write to global control planes going from `before` to `after` (two runs of one stack):
 * created, deleted, or changed inputs (ignoring what the resource's `ignoreChanges` hides from the diff).
 */
export function globalWrites(before: Inventory, after: Inventory): GlobalWrite[] {
  const old = new Map(globalResources(before).map((e) => [e.urn, e]))
  const inputsOf = (inv: Inventory) => new Map(inv.resources.map((r) => [r.urn, r]))
  const beforeByUrn = inputsOf(before)
  const afterByUrn = inputsOf(after)
  const out: GlobalWrite[] = []
  for (const e of globalResources(after)) {
    const prev = beforeByUrn.get(e.urn)
    const next = afterByUrn.get(e.urn) as InventoryResource
    if (!prev || !old.has(e.urn)) {
      out.push({ ...e, action: 'create', inputs: [] })
      continue
    }
    const ignored = new Set(next.options?.ignoreChanges ?? [])
    const keys = new Set([...Object.keys(prev.inputs), ...Object.keys(next.inputs)])
    const changed = [...keys].filter(
      (k) => !ignored.has(k) && JSON.stringify(prev.inputs[k]) !== JSON.stringify(next.inputs[k]),
    )
    if (changed.length) out.push({ ...e, action: 'update', inputs: changed.sort() })
  }
  const now = new Set(globalResources(after).map((e) => e.urn))
  for (const e of old.values()) if (!now.has(e.urn)) out.push({ ...e, action: 'delete', inputs: [] })
  return out
}

/** The global-service writes as text. */
export function globalWritesTable(label: string, writes: GlobalWrite[]): string {
  if (!writes.length) return `${label}: no create, update or delete in a global service`
  return [
    `${label}: writes ${writes.length} global-service resource(s):`,
    ...writes.map(
      (w) =>
        `  ${w.action} ${w.type} ${w.name}${w.inputs.length ? ` (${w.inputs.join(', ')})` : ''} -> control plane ${w.controlPlane}`,
    ),
  ].join('\n')
}

/** Every provider and resource of `inv` that is in a region other than the stack's own. */
export function foreignRegion(inv: Inventory): ForeignRegionEntry[] {
  const providerRegion = new Map<string, { name: string; region: string }>()
  const out: ForeignRegionEntry[] = []
  for (const r of inv.resources.filter((x) => x.type === PROVIDER)) {
    const region = typeof r.inputs.region === 'string' ? r.inputs.region : inv.region
    providerRegion.set(r.urn, { name: r.name, region })
    if (region !== inv.region)
      out.push({ stack: inv.stack, type: r.type, name: r.name, region, via: 'provider' })
  }
  for (const r of inv.resources) {
    if (r.type === PROVIDER) continue
    // Provider references are `urn::id`; the URN is everything before the last `::`.
    const ref = r.provider ? r.provider.slice(0, r.provider.lastIndexOf('::')) : undefined
    const p = ref ? providerRegion.get(ref) : undefined
    const own = typeof r.inputs.region === 'string' ? r.inputs.region : undefined
    if (own && own !== inv.region) {
      out.push({ stack: inv.stack, type: r.type, name: r.name, region: own, via: 'region argument' })
    } else if (p && p.region !== inv.region && !own) {
      out.push({
        stack: inv.stack,
        type: r.type,
        name: r.name,
        region: p.region,
        via: `resource via ${p.name}`,
      })
    }
  }
  return out
}

/** The region-loss list as text. */
export function regionLossTable(entries: ForeignRegionEntry[]): string {
  if (!entries.length) return "(none: every resource is in its stack's own region)"
  return entries.map((e) => `${e.stack}  ${e.region}  ${e.type}  ${e.name}  (${e.via})`).join('\n')
}

/** Global-service resources per stack and control plane, as text (counts by type). */
export function globalResourcesTable(entries: GlobalEntry[]): string {
  if (!entries.length) return '(no resource in a global service)'
  const counts = new Map<string, number>()
  for (const e of entries) {
    const key = `${e.stack}  control plane ${e.controlPlane}  ${e.type}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([k, n]) => `${k}  x${n}`).join('\n')
}
