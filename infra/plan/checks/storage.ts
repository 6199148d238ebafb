// Storage classes: which objects a GET can still read at a given age. S3 refuses a GET on an object in
// GLACIER (Flexible Retrieval) or DEEP_ARCHIVE, and on INTELLIGENT_TIERING objects in its opt-in archive tiers,
// with InvalidObjectState until the object is restored; every other class reads directly.
import type { Inventory, InventoryResource } from '../inventory.js'

/** Classes a GET refuses (InvalidObjectState) until a RestoreObject completes. */
export const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE'])

/** What a GET of an object `ageDays` old in `bucket` returns, per the bucket's lifecycle rules. */
export interface ReadResult {
  bucket: string
  ageDays: number
  storageClass: string
  ok: boolean
  error?: string
}

type Rule = Record<string, unknown>
const str = (v: unknown) => (typeof v === 'string' ? v : '')

function lifecycleRules(inv: Inventory, bucket: string): Rule[] {
  return inv.resources
    .filter(
      (r) =>
        r.type === 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration' &&
        str(r.inputs.bucket) === bucket,
    )
    .flatMap((r) => (Array.isArray(r.inputs.rules) ? (r.inputs.rules as Rule[]) : []))
    .filter((rule) => str(rule.status) !== 'Disabled')
}

function archivedTiering(inv: Inventory, bucket: string): boolean {
  return inv.resources.some(
    (r) =>
      r.type === 'aws:s3/bucketIntelligentTieringConfiguration:BucketIntelligentTieringConfiguration' &&
      str(r.inputs.bucket) === bucket &&
      str(r.inputs.status) !== 'Disabled' &&
      Array.isArray(r.inputs.tierings) &&
      r.inputs.tierings.length > 0,
  )
}

/** Storage class of a current object `ageDays` old (the latest transition due by then, of any rule). */
export function storageClassAt(inv: Inventory, bucket: string, ageDays: number): string {
  let current = { days: -1, storageClass: 'STANDARD' }
  for (const rule of lifecycleRules(inv, bucket)) {
    for (const t of (Array.isArray(rule.transitions) ? rule.transitions : []) as Rule[]) {
      const days = Number(t.days ?? 0)
      if (days <= ageDays && days > current.days) current = { days, storageClass: str(t.storageClass) }
    }
  }
  return current.storageClass
}

/** A GET of an object `ageDays` old: fails on an archive class, as S3 does. */
export function getObject(inv: Inventory, bucket: string, ageDays: number): ReadResult {
  const storageClass = storageClassAt(inv, bucket, ageDays)
  const archived =
    ARCHIVE_CLASSES.has(storageClass) ||
    (storageClass === 'INTELLIGENT_TIERING' && archivedTiering(inv, bucket))
  return archived
    ? {
        bucket,
        ageDays,
        storageClass,
        ok: false,
        error: `InvalidObjectState: ${storageClass} objects need a restore before a GET`,
      }
    : { bucket, ageDays, storageClass, ok: true }
}

/** Ages worth probing: each transition day of the bucket, and a day past the last. */
function probeAges(inv: Inventory, bucket: string): number[] {
  const days = lifecycleRules(inv, bucket).flatMap((rule) =>
    ((Array.isArray(rule.transitions) ? rule.transitions : []) as Rule[]).map((t) => Number(t.days ?? 0)),
  )
  return [...new Set([0, ...days, Math.max(0, ...days) + 1])].sort((a, b) => a - b)
}

/** Buckets the service or the CDN reads on a user's request; logs may archive. */
export function servedBuckets(inv: Inventory): InventoryResource[] {
  return inv.resources.filter(
    (r) => r.type === 'aws:s3/bucket:Bucket' && /-(uploads|assets)-/.test(str(r.inputs.bucket)),
  )
}

/** Every GET that would fail on a served bucket (its own lifecycle, or the class its replicas are written in). */
export function unreadable(inv: Inventory): ReadResult[] {
  const out: ReadResult[] = []
  for (const b of servedBuckets(inv)) {
    const name = str(b.inputs.bucket)
    for (const age of probeAges(inv, name)) {
      const r = getObject(inv, name, age)
      if (!r.ok) {
        out.push(r)
        break
      }
    }
    // A replica written straight into an archive class is unreadable from day 0 (CloudFront failover reads it).
    for (const rc of inv.resources.filter(
      (r) =>
        r.type === 'aws:s3/bucketReplicationConfig:BucketReplicationConfig' && str(r.inputs.bucket) === name,
    )) {
      for (const rule of (Array.isArray(rc.inputs.rules) ? rc.inputs.rules : []) as Rule[]) {
        const cls = str((rule.destination as Rule | undefined)?.storageClass)
        if (ARCHIVE_CLASSES.has(cls))
          out.push({
            bucket: `${name} (replica)`,
            ageDays: 0,
            storageClass: cls,
            ok: false,
            error: `InvalidObjectState: replicas are written as ${cls}`,
          })
      }
    }
  }
  return out
}
