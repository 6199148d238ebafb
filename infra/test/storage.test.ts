import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { all, hasProps, idOf, one, only, stack, statements } from './helpers.js'

const allOne = (...args: Parameters<typeof all>) => only(all(...args))

const T = {
  bucket: 'aws:s3/bucket:Bucket',
  pab: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  own: 'aws:s3/bucketOwnershipControls:BucketOwnershipControls',
  ver: 'aws:s3/bucketVersioning:BucketVersioning',
  sse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  life: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  policy: 'aws:s3/bucketPolicy:BucketPolicy',
}

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`storage (${name})`, () => {
    const purposes = ['uploads', 'assets', 'logs']

    it('has uploads, assets and logs buckets named deterministically per stack and account', async () => {
      const { inventory } = await stack(name)
      expect(all(inventory, T.bucket).map((b) => b.inputs.bucket)).to.have.members(
        purposes.map((p) => `blueprint-${name}-${p}-123456789012`),
      )
    })

    for (const purpose of purposes) {
      it(`keeps ${purpose} private, owner-enforced and versioned`, async () => {
        const { inventory } = await stack(name)
        const bucket = `blueprint-${name}-${purpose}-123456789012`
        const forBucket = (type: string) => all(inventory, type, (r) => r.inputs.bucket === bucket)
        expect(forBucket(T.pab)).to.have.length(1)
        hasProps(only(forBucket(T.pab)), {
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        })
        hasProps(only(forBucket(T.own)), { rule: { objectOwnership: 'BucketOwnerEnforced' } })
        hasProps(only(forBucket(T.ver)), { versioningConfiguration: { status: 'Enabled' } })
      })

      it(`keeps ${purpose} readable by a plain GET and expires noncurrent versions within the erasure promise`, async () => {
        const { inventory } = await stack(name)
        const bucket = `blueprint-${name}-${purpose}-123456789012`
        const life = allOne(inventory, T.life, (r) => r.inputs.bucket === bucket)
        const rules = life.inputs.rules as { transitions?: { storageClass: string }[] }[]
        const classes = rules.flatMap((r) => r.transitions ?? []).map((t) => t.storageClass)
        if (purpose === 'logs') {
          // Logs are read rarely and may take a restore; they must also go away.
          hasProps(life, {
            rules: [
              {
                status: 'Enabled',
                transitions: [
                  { days: 30, storageClass: 'STANDARD_IA' },
                  { days: 90, storageClass: 'GLACIER' },
                ],
                expiration: { days: 365 },
                noncurrentVersionExpiration: { noncurrentDays: 30 },
              },
              { expiration: { expiredObjectDeleteMarker: true } },
            ],
          })
        } else {
          expect(classes, 'no class that refuses a GET until restored').to.deep.equal(['INTELLIGENT_TIERING'])
          hasProps(life, {
            rules: [
              {
                status: 'Enabled',
                transitions: [{ days: 30, storageClass: 'INTELLIGENT_TIERING' }],
                noncurrentVersionExpiration: { noncurrentDays: 30 },
              },
              { expiration: { expiredObjectDeleteMarker: true } },
            ],
          })
          // Intelligent-Tiering's archive tiers (which need a restore) are opt-in per bucket: never opted into.
          expect(
            all(
              inventory,
              'aws:s3/bucketIntelligentTieringConfiguration:BucketIntelligentTieringConfiguration',
            ),
          ).to.deep.equal([])
        }
      })

      it(`denies non-TLS access to ${purpose}`, async () => {
        const { inventory } = await stack(name)
        const bucket = `blueprint-${name}-${purpose}-123456789012`
        const policy = allOne(inventory, T.policy, (r) => r.inputs.bucket === bucket)
        const deny = statements(policy).find((s) => s.Sid === 'DenyInsecureTransport')
        expect(deny).to.deep.include({ Effect: 'Deny', Principal: '*', Action: 's3:*' })
        expect(deny?.Condition).to.deep.equal({ Bool: { 'aws:SecureTransport': 'false' } })
        expect(deny?.Resource).to.have.members([`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`])
      })
    }

    it('encrypts uploads and assets with the region KMS key, logs with SSE-S3 (ALB log delivery needs it)', async () => {
      const { inventory } = await stack(name)
      const keyArn = `arn:aws:kms:${inventory.region}:123456789012:key/${idOf(one(inventory, 'aws:kms/key:Key', `blueprint-${name}-key`))}`
      for (const purpose of ['uploads', 'assets']) {
        const sse = allOne(
          inventory,
          T.sse,
          (r) => r.inputs.bucket === `blueprint-${name}-${purpose}-123456789012`,
        )
        hasProps(sse, {
          rules: [
            {
              applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: keyArn },
              bucketKeyEnabled: true,
            },
          ],
        })
      }
      const logs = allOne(inventory, T.sse, (r) => r.inputs.bucket === `blueprint-${name}-logs-123456789012`)
      hasProps(logs, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] })
    })

    it('lets only the regional ELB log account write ALB logs, under alb/', async () => {
      const { inventory } = await stack(name)
      const bucket = `blueprint-${name}-logs-123456789012`
      const policy = allOne(inventory, T.policy, (r) => r.inputs.bucket === bucket)
      const allow = statements(policy).filter((s) => s.Effect === 'Allow')
      expect(allow).to.have.length(1)
      const elb = name === 'us-east' ? '127311923021' : '156460612806'
      expect(allow[0]).to.deep.include({
        Principal: { AWS: `arn:aws:iam::${elb}:root` },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/alb/AWSLogs/123456789012/*`,
      })
    })

    it('protects and retains every bucket', async () => {
      const { inventory } = await stack(name)
      for (const b of all(inventory, T.bucket))
        expect(b.options, b.name).to.include({ protect: true, retainOnDelete: true })
    })
  })
}
