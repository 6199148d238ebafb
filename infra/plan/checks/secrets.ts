// Secrets Manager keeps a deleted secret's name for its recovery window (7-30 days; the provider's default is 30):
// CreateSecret of that name fails ("a secret with this name is already scheduled for deletion") until the window
// ends, unless the secret was deleted without recovery (`recoveryWindowInDays: 0`). A failback renames the
// database's secrets with its identifier, and the next failback renames them back: within the window, that apply
// fails halfway.
import type { Inventory, InventoryResource } from '../inventory.js'

const SECRET = 'aws:secretsmanager/secret:Secret'
/** The provider's default recovery window. */
const DEFAULT_RECOVERY_DAYS = 30

/** A create that Secrets Manager would refuse because the name is still reserved by a deleted secret. */
export interface SecretNameClash {
  run: number
  name: string
  /** Recovery window of the deleted secret that holds the name. */
  recoveryWindowDays: number
  deletedInRun: number
}

const nameOf = (r: InventoryResource) => (typeof r.inputs.name === 'string' ? r.inputs.name : undefined)

/**
 * Walks successive `pulumi up`s of one stack (`runs`, `daysBetween` apart) and reports every secret create whose name
 * a secret deleted (or replaced under another name) in an earlier run still reserves.
 */
export function secretNameClashes(runs: Inventory[], daysBetween = 0): SecretNameClash[] {
  const reserved = new Map<string, { until: number; days: number; run: number }>()
  const clashes: SecretNameClash[] = []
  for (let i = 1; i < runs.length; i++) {
    const day = i * daysBetween
    const before = new Map(
      (runs[i - 1] as Inventory).resources.filter((r) => r.type === SECRET).map((r) => [r.urn, r]),
    )
    const after = (runs[i] as Inventory).resources.filter((r) => r.type === SECRET)
    const names = new Set(after.map(nameOf))
    // Creates first: a name this run creates that an earlier deletion still holds.
    for (const r of after) {
      const name = nameOf(r)
      const prev = before.get(r.urn)
      if (!name || (prev && nameOf(prev) === name)) continue
      const held = reserved.get(name)
      if (held && day < held.until)
        clashes.push({ run: i, name, recoveryWindowDays: held.days, deletedInRun: held.run })
      reserved.delete(name)
    }
    // Then deletions: a secret gone, or replaced under a new name, reserves the old name.
    for (const prev of before.values()) {
      const name = nameOf(prev)
      if (!name || names.has(name)) continue
      const raw = prev.inputs.recoveryWindowInDays
      const days = typeof raw === 'number' ? raw : DEFAULT_RECOVERY_DAYS
      if (days > 0) reserved.set(name, { until: day + days, days, run: i })
    }
  }
  return clashes
}
