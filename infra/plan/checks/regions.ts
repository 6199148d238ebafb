// Region loss: what a stack needs from a region other than its own. While that region is down, every such
// resource blocks `pulumi up` (refresh and update call its API), so the DR region must list none.
import type { Inventory } from '../inventory.js'

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
