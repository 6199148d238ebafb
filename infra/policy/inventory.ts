// Adapts `infra/plan`'s offline inventory for the pack: the inventory keeps inputs only, and
// references in them carry the ids and ARNs the Pulumi mocks answered. Asking the same mocks again
// for each resource restores those outputs, so rules can match a reference to its target by value.
import type { Inventory } from '../plan/inventory.js'
import { mockStackOutputs } from '../plan/inventory.js'
import { AwsMocks } from '../plan/mocks.js'
import type { PackInventory } from './run.js'

/** The inventory with each resource's mocked outputs (`id`, `arn`, ...) attached. */
export function withMockOutputs(inventory: Inventory): PackInventory {
  const mocks = new AwsMocks(inventory.region, mockStackOutputs)
  // Registration order: providers come before the resources that use them, as under the engine.
  const resources = inventory.resources.map((r) => {
    if (!r.custom) return r
    const { id, state } = mocks.newResource({
      type: r.type,
      name: r.name,
      inputs: r.inputs,
      provider: r.provider,
      custom: true,
    } as never)
    return { ...r, outputs: { ...state, id } }
  })
  return { ...inventory, resources }
}
