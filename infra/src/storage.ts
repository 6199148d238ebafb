import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'

/** Purposes of the region's buckets; uploads and assets replicate across regions, logs stay local. */
export type BucketPurpose = 'uploads' | 'assets' | 'logs'

/**
 * Deterministic bucket name. Both stacks compute the other's names from config alone, which is how each
 * learns its replication destination without a StackReference cycle.
 */
export function bucketName(
  project: string,
  stack: string,
  purpose: BucketPurpose,
  account: pulumi.Input<string>,
) {
  return pulumi.interpolate`${project}-${stack}-${purpose}-${account}`
}

// ALB access logs in regions older than August 2022 are written by this per-region ELB account.
const ELB_LOG_ACCOUNTS: Record<string, string> = {
  'us-east-1': '127311923021',
  'eu-west-1': '156460612806',
}

export interface ReplicationTarget {
  /** Stack that owns the destination buckets. */
  stack: string
  /** Region of the destination buckets. */
  region: string
  /** Alias (without `alias/`) of the destination region's KMS key; replicas are re-encrypted with it. */
  kmsAlias: string
}

export interface StorageArgs {
  project: string
  stack: string
  region: string
  /** KMS key for uploads and assets. */
  kmsKeyArn: pulumi.Input<string>
  /**
   * Days before uploads and assets move to Intelligent-Tiering. Cost: it moves each object between Frequent,
   * Infrequent (-40%) and Archive Instant Access (-68%) by its own reads, every tier answers a GET in
   * milliseconds, and there is no retrieval fee (Glacier Instant Retrieval charges per GB read and bills 90
   * days minimum: wrong for an avatar read again). Its opt-in archive tiers, which need a restore, stay off.
   * @default 30
   */
  tieringDays?: number
  /** Days before logs move to Standard-IA. @default 30 (S3's minimum) */
  infrequentAccessDays?: number
  /** Days before logs move to Glacier Flexible Retrieval (a restore to read; logs are read rarely). @default 90 */
  glacierDays?: number
  /** Days before logs expire. @default 365 */
  logExpirationDays?: number
  /** Days a noncurrent version is kept: how long an erased user's files outlive the erasure. @default 30 */
  noncurrentVersionDays?: number
  /** Replicate uploads and assets to the other region's buckets; off by default (see docs for the order). */
  replicateTo?: ReplicationTarget
  /** Protect buckets from deletion and replacement. @default true */
  protect?: boolean
  /**
   * Browser origins of the web client: the uploads bucket's CORS allows them to POST (presigned)
   * and GET. @default [] (no CORS: browsers cannot upload directly)
   */
  webOrigins?: pulumi.Input<string>[]
}

export interface BucketRef {
  name: pulumi.Output<string>
  arn: pulumi.Output<string>
  regionalDomainName: pulumi.Output<string>
}

/** Private, versioned, encrypted, TLS-only buckets with tiering lifecycle: uploads, assets and logs. */
export class Storage extends pulumi.ComponentResource {
  readonly uploads: BucketRef
  readonly assets: BucketRef
  readonly logs: BucketRef
  readonly replicationRoleArn?: pulumi.Output<string>
  /** The logs bucket's policy: ALB access logging can be enabled only once it exists. */
  readonly logsPolicy: aws.s3.BucketPolicy

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:storage:Storage', name, {}, opts)
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId
    const lifecycle = lifecycleRules({
      tiering: args.tieringDays ?? 30,
      ia: args.infrequentAccessDays ?? 30,
      glacier: args.glacierDays ?? 90,
      logExpiration: args.logExpirationDays ?? 365,
      noncurrent: args.noncurrentVersionDays ?? 30,
    })
    const made: Partial<
      Record<BucketPurpose, { bucket: aws.s3.Bucket; versioning: aws.s3.BucketVersioning }>
    > = {}
    const make = (purpose: BucketPurpose) => {
      const res = `${name}-${purpose}`
      const bucket = new aws.s3.Bucket(
        res,
        { bucket: bucketName(args.project, args.stack, purpose, account), forceDestroy: false },
        { parent: this, protect: args.protect ?? true, retainOnDelete: true },
      )
      const child = { parent: this }
      new aws.s3.BucketPublicAccessBlock(
        res,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        child,
      )
      new aws.s3.BucketOwnershipControls(
        res,
        { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } },
        child,
      )
      const versioning = new aws.s3.BucketVersioning(
        res,
        { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } },
        child,
      )
      new aws.s3.BucketServerSideEncryptionConfiguration(
        res,
        {
          bucket: bucket.id,
          rules: [
            purpose === 'logs'
              ? // ALB access-log delivery only writes to SSE-S3 buckets; a KMS default makes it fail silently.
                { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }
              : {
                  applyServerSideEncryptionByDefault: {
                    sseAlgorithm: 'aws:kms',
                    kmsMasterKeyId: args.kmsKeyArn,
                  },
                  bucketKeyEnabled: true,
                },
          ],
        },
        child,
      )
      new aws.s3.BucketLifecycleConfiguration(
        res,
        {
          bucket: bucket.id,
          rules: lifecycle(purpose),
        },
        { parent: this, dependsOn: [versioning] },
      )
      made[purpose] = { bucket, versioning }
      return bucket
    }

    const ref = (b: aws.s3.Bucket): BucketRef => ({
      name: b.bucket,
      arn: b.arn,
      regionalDomainName: b.bucketRegionalDomainName,
    })
    const uploads = make('uploads')
    const assets = make('assets')
    const logs = make('logs')
    this.uploads = ref(uploads)
    this.assets = ref(assets)
    this.logs = ref(logs)

    const denyInsecure = (b: aws.s3.Bucket) => ({
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [b.arn, pulumi.interpolate`${b.arn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    })
    const policy = (b: aws.s3.Bucket, purpose: BucketPurpose, extra: unknown[] = []) =>
      new aws.s3.BucketPolicy(
        `${name}-${purpose}`,
        {
          bucket: b.id,
          policy: pulumi.jsonStringify({ Version: '2012-10-17', Statement: [denyInsecure(b), ...extra] }),
        },
        { parent: this },
      )
    policy(uploads, 'uploads')
    this.logsPolicy = policy(logs, 'logs', [
      {
        Sid: 'AlbAccessLogs',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${elbLogAccount(args.region)}:root` },
        Action: 's3:PutObject',
        Resource: pulumi.interpolate`${logs.arn}/alb/AWSLogs/${account}/*`,
      },
    ])
    this.assetsBucket = assets

    if (args.replicateTo) {
      this.replicationRoleArn = this.replicate(name, args, args.replicateTo, made, account)
    }
    if (args.webOrigins?.length && made.uploads)
      this.allowWebUploads(name, made.uploads.bucket, args.webOrigins)
    this.registerOutputs({ uploads: this.uploads.name, assets: this.assets.name, logs: this.logs.name })
  }

  private readonly assetsBucket: aws.s3.Bucket

  /** A browser's presigned POST is cross-origin: without these rules its preflight fails. */
  private allowWebUploads(name: string, bucket: aws.s3.Bucket, origins: pulumi.Input<string>[]): void {
    new aws.s3.BucketCorsConfiguration(
      `${name}-uploads-cors`,
      {
        bucket: bucket.id,
        corsRules: [
          {
            allowedOrigins: origins,
            allowedMethods: ['POST', 'GET'],
            allowedHeaders: ['*'],
            exposeHeaders: ['ETag'],
            maxAgeSeconds: 3000,
          },
        ],
      },
      { parent: this },
    )
  }

  /**
   * Writes the assets bucket policy: TLS-only plus a read grant for the CloudFront distribution(s) given.
   * Called once by the stack after the CDN (if any) is known, so the policy is a single resource.
   */
  finishAssetsPolicy(name: string, cdnDistributionArns: pulumi.Input<string>[]): void {
    const b = this.assetsBucket
    const statements: unknown[] = [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [b.arn, pulumi.interpolate`${b.arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]
    if (cdnDistributionArns.length > 0) {
      statements.push({
        Sid: 'CloudFrontReadsAssets',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: pulumi.interpolate`${b.arn}/*`,
        Condition: { StringEquals: { 'AWS:SourceArn': cdnDistributionArns } },
      })
    }
    new aws.s3.BucketPolicy(
      `${name}-assets`,
      { bucket: b.id, policy: pulumi.jsonStringify({ Version: '2012-10-17', Statement: statements }) },
      { parent: this },
    )
  }

  private replicate(
    name: string,
    args: StorageArgs,
    target: ReplicationTarget,
    made: Partial<Record<BucketPurpose, { bucket: aws.s3.Bucket; versioning: aws.s3.BucketVersioning }>>,
    account: pulumi.Output<string>,
  ): pulumi.Output<string> {
    const destKeyAlias = pulumi.interpolate`arn:aws:kms:${target.region}:${account}:alias/${target.kmsAlias}`
    const pairs = (['uploads', 'assets'] as const).map((purpose) => {
      const source = made[purpose]
      if (!source) throw new Error(`${name}: bucket ${purpose} missing`)
      return {
        purpose,
        source,
        destName: bucketName(args.project, target.stack, purpose, account),
      }
    })
    const role = new aws.iam.Role(
      `${name}-replication`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      },
      { parent: this },
    )
    // Scoped to exactly the replicated buckets and the two regions' keys.
    new aws.iam.RolePolicy(
      `${name}-replication`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
              Resource: pairs.map((p) => p.source.bucket.arn),
            },
            {
              Effect: 'Allow',
              Action: [
                's3:GetObjectVersionForReplication',
                's3:GetObjectVersionAcl',
                's3:GetObjectVersionTagging',
              ],
              Resource: pairs.map((p) => pulumi.interpolate`${p.source.bucket.arn}/*`),
            },
            {
              Effect: 'Allow',
              Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
              Resource: pairs.map((p) => pulumi.interpolate`arn:aws:s3:::${p.destName}/*`),
            },
            {
              Effect: 'Allow',
              Action: ['kms:Decrypt'],
              Resource: args.kmsKeyArn,
              Condition: {
                StringLike: { 'kms:ViaService': `s3.${args.region}.amazonaws.com` },
              },
            },
            {
              // IAM matches KMS permissions on key ARNs; the alias condition pins the one destination key.
              Effect: 'Allow',
              Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
              Resource: pulumi.interpolate`arn:aws:kms:${target.region}:${account}:key/*`,
              Condition: {
                StringLike: { 'kms:ViaService': `s3.${target.region}.amazonaws.com` },
                'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${target.kmsAlias}` },
              },
            },
          ],
        }),
      },
      { parent: role },
    )
    for (const p of pairs) {
      new aws.s3.BucketReplicationConfig(
        `${name}-${p.purpose}`,
        {
          bucket: p.source.bucket.id,
          role: role.arn,
          rules: [
            {
              id: `to-${target.stack}`,
              status: 'Enabled',
              priority: 1,
              filter: {},
              deleteMarkerReplication: { status: 'Enabled' },
              sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
              destination: {
                bucket: pulumi.interpolate`arn:aws:s3:::${p.destName}`,
                // Replicas land where the source's own lifecycle would put them; never an archive class.
                storageClass: 'INTELLIGENT_TIERING',
                encryptionConfiguration: { replicaKmsKeyId: destKeyAlias },
              },
            },
          ],
        },
        // S3 rejects a replication rule on a bucket whose versioning is not yet enabled.
        { parent: this, dependsOn: [p.source.versioning] },
      )
    }
    return role.arn
  }
}

interface LifecycleDays {
  tiering: number
  ia: number
  glacier: number
  logExpiration: number
  noncurrent: number
}

/**
 * Lifecycle rules per bucket purpose. Uploads and assets stay readable by a plain GET forever (no class that
 * needs a restore); logs archive and expire. Every bucket expires noncurrent versions, which bounds how long
 * an erased user's deleted objects survive, here and (the same rule in the other stack) in the replicas.
 */
export function lifecycleRules(d: LifecycleDays) {
  const common = {
    status: 'Enabled',
    filter: {},
    noncurrentVersionExpiration: { noncurrentDays: d.noncurrent },
    abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
  }
  // Once its noncurrent versions expired, a lone delete marker is removed too (it lists as a key otherwise).
  const markers = {
    id: 'expired-delete-markers',
    status: 'Enabled',
    filter: {},
    expiration: { expiredObjectDeleteMarker: true },
  }
  return (purpose: BucketPurpose) =>
    purpose === 'logs'
      ? [
          {
            id: 'archive-and-expire',
            ...common,
            transitions: [
              { days: d.ia, storageClass: 'STANDARD_IA' },
              { days: d.glacier, storageClass: 'GLACIER' },
            ],
            expiration: { days: d.logExpiration },
          },
          markers,
        ]
      : [
          {
            id: 'tiering',
            ...common,
            transitions: [{ days: d.tiering, storageClass: 'INTELLIGENT_TIERING' }],
          },
          markers,
        ]
}

function elbLogAccount(region: string): string {
  const account = ELB_LOG_ACCOUNTS[region]
  if (!account) throw new Error(`no ALB log-delivery account known for ${region}; add it to ELB_LOG_ACCOUNTS`)
  return account
}
