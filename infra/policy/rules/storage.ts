// S3: every bucket encrypted at rest, with all four public-access blocks on, and a policy that
// refuses plain HTTP. In @pulumi/aws v7 these live in companion resources beside the bucket, so
// these are stack rules that look for the companion of each bucket.
import type { PolicyResource, StackValidationPolicy } from '@pulumi/policy'
import { configuresBucket, eachOfType, objectOf, strings, T } from '../resources.js'

const BUCKETS = [T.bucket, T.bucketV2]

function companions(bucket: PolicyResource, all: PolicyResource[], types: readonly string[]) {
  return all.filter((r) => types.includes(r.type) && configuresBucket(r, bucket))
}

/** Buckets must have a default server-side encryption configuration (SSE-KMS or SSE-S3). */
export const s3EncryptionAtRest: StackValidationPolicy = {
  name: 's3-encryption-at-rest',
  description: 'Every S3 bucket has a default server-side encryption configuration.',
  enforcementLevel: 'mandatory',
  validateStack: eachOfType(BUCKETS, (bucket, { resources }, report) => {
    const inline = bucket.props.serverSideEncryptionConfiguration
    if (inline || companions(bucket, resources, [T.bucketSse, T.bucketSseV2]).length > 0) return
    report(`bucket "${bucket.name}" has no server-side encryption configuration`, bucket.urn)
  }),
}

const PAB_FLAGS = [
  'blockPublicAcls',
  'blockPublicPolicy',
  'ignorePublicAcls',
  'restrictPublicBuckets',
] as const

/** Buckets must block public ACLs and policies with all four flags. */
export const s3PublicAccessBlocked: StackValidationPolicy = {
  name: 's3-public-access-blocked',
  description: 'Every S3 bucket has a public access block with all four settings on.',
  enforcementLevel: 'mandatory',
  validateStack: eachOfType(BUCKETS, (bucket, { resources }, report) => {
    const blocks = companions(bucket, resources, [T.bucketPab])
    if (blocks.length === 0) {
      report(`bucket "${bucket.name}" has no public access block`, bucket.urn)
      return
    }
    const off = PAB_FLAGS.filter((f) => !blocks.some((b) => b.props[f] === true))
    if (off.length)
      report(`bucket "${bucket.name}" public access block leaves ${off.join(', ')} off`, bucket.urn)
  }),
}

interface Statement {
  Effect?: string
  Condition?: Record<string, Record<string, unknown>>
}

/** True when a bucket policy document denies requests that are not over TLS. */
export function deniesInsecureTransport(policy: unknown): boolean {
  const doc = objectOf(policy)
  const raw = doc?.Statement
  const statements = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Statement[]
  return statements.some((s) => {
    if (s.Effect !== 'Deny') return false
    const secure = s.Condition?.Bool?.['aws:SecureTransport']
    return strings(secure).includes('false') || secure === false
  })
}

/** Buckets must have a policy that denies any request made without TLS. */
export const s3TlsOnly: StackValidationPolicy = {
  name: 's3-tls-only',
  description: 'Every S3 bucket policy denies requests where aws:SecureTransport is false.',
  enforcementLevel: 'mandatory',
  validateStack: eachOfType(BUCKETS, (bucket, { resources }, report) => {
    const policies = [
      bucket.props.policy,
      ...companions(bucket, resources, [T.bucketPolicy]).map((p) => p.props.policy),
    ]
    if (policies.some(deniesInsecureTransport)) return
    report(
      `bucket "${bucket.name}" has no policy denying non-TLS requests (aws:SecureTransport=false)`,
      bucket.urn,
    )
  }),
}
