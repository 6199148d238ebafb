// The stack config, declared once: each key's type, default, how it is parsed and the line docs/infrastructure.md
// shows for it. `loadConfig()` (config.ts) reads through this table, the config types are inferred from it, and
// the docs table is generated from it (`npm run docs:config -w infra`; infra/test/config-docs.test.ts checks it).
import { dbIdentifiers, STACK_REGIONS, type StackName } from '../../app/src/contract.js'

/** What a computed default may depend on. */
export interface SchemaContext {
  project: string
  stack: StackName
  region: string
}

/** One config key. `T` is the parsed type; `Opt` marks a key that may stay unset (no default). */
export interface Field<T, Opt extends boolean = false> {
  /** The meaning column of the docs table. */
  doc: string
  /** Value when the key is unset; a function when it depends on the stack. Unset and no default: required. */
  default?: T | ((c: SchemaContext) => T)
  /** How the docs show a computed default (otherwise the literal default). */
  docDefault?: string
  /** Example value in the `pulumi config set` hint of a missing key. */
  example?: string
  optional: Opt
  /** Parses a raw value that is set (not undefined, not ''); returns an error text when it is wrong. */
  parse(raw: unknown): { value: T } | { error: string }
}

type Opts<T> = { default?: T | ((c: SchemaContext) => T); docDefault?: string; example?: string }

function field<T>(doc: string, parse: Field<T>['parse'], opts: Opts<T> = {}): Field<T> {
  return { doc, parse, optional: false, ...opts }
}
function optional<T>(f: Field<T>): Field<T, true> {
  return { ...f, optional: true }
}

const parseStr = (raw: unknown) => (typeof raw === 'string' ? { value: raw } : { error: 'a string' })
const parseNum = (raw: unknown) => {
  const n = typeof raw === 'string' ? Number(raw) : raw
  return typeof n === 'number' && Number.isFinite(n) && n >= 0
    ? { value: n }
    : { error: 'a non-negative number' }
}
const parseInteger = (raw: unknown) => {
  const r = parseNum(raw)
  return 'value' in r && !Number.isInteger(r.value) ? { error: 'an integer' } : r
}

/** A string; required unless it has a default. */
export const str = (doc: string, opts?: Opts<string>) => field<string>(doc, parseStr, opts)
/** A string that may stay unset. */
export const optStr = (doc: string) => optional(str(doc))
/** A non-negative number. */
export const num = (doc: string, dflt: number) => field<number>(doc, parseNum, { default: dflt })
/** A non-negative integer. */
export const int = (doc: string, dflt: number, opts?: Opts<number>) =>
  field<number>(doc, parseInteger, { ...opts, default: dflt })
/** A non-negative integer that may stay unset. */
export const optInt = (doc: string, docDefault?: string) =>
  optional(field<number>(doc, parseInteger, docDefault ? { docDefault } : {}))
/** true or false (also as strings, as the CLI stores them). */
export const bool = (doc: string, dflt: boolean) =>
  field<boolean>(
    doc,
    (raw) =>
      raw === true || raw === 'true'
        ? { value: true }
        : raw === false || raw === 'false'
          ? { value: false }
          : { error: 'true or false' },
    { default: dflt },
  )
/** A list of strings. */
export const list = (doc: string, opts: Opts<string[]>) =>
  field<string[]>(
    doc,
    (raw) =>
      Array.isArray(raw) && raw.every((x) => typeof x === 'string')
        ? { value: raw }
        : { error: 'a list of strings' },
    opts,
  )
/** One of `allowed` (numbers match their string form, as the CLI stores them). */
export const oneOf = <const T extends string | number>(doc: string, allowed: readonly T[], dflt?: T) =>
  field<T>(
    doc,
    (raw) => {
      const hit = allowed.find((a) => String(a) === String(raw))
      return hit === undefined ? { error: `one of ${allowed.join('|')}` } : { value: hit }
    },
    dflt === undefined ? {} : { default: dflt },
  )
/** One of `allowed`, or unset. */
export const optOneOf = <const T extends string>(doc: string, allowed: readonly T[]) =>
  optional(oneOf(doc, allowed))

const STACKS = Object.keys(STACK_REGIONS) as StackName[]

/** Every key of the stack config, by section (`top`: keys directly under `<project>:`). */
export const SCHEMA = {
  top: {
    owner: str('tags on every resource (with project, stack, region) via the provider `defaultTags`', {
      example: 'platform-team',
    }),
    costCenter: str('cost-center tag on every resource', { example: 'cc-1234' }),
    protect: bool(
      'protect stateful resources (DB, buckets, cache, KMS keys) from destroy and replacement',
      true,
    ),
    wafRateLimit: int('regional WAF: requests per 5 min per IP', 2000),
  },
  network: {
    cidr: str('VPC CIDR (a /16; subnets are /20)', { default: '10.0.0.0/16' }),
    azs: list('exactly three AZs', {
      default: (c) => ['a', 'b', 'c'].map((s) => `${c.region}${s}`),
      docDefault: '`<region>a,b,c`',
    }),
    flowLogRetentionDays: int('flow-log retention in days', 90),
    peerCidr: optStr(
      "the other region's VPC CIDR (must not overlap `network.cidr`): peer routes and database ingress",
    ),
    peerVpcId: optStr(
      "requester side (eu-west): the other VPC's id (`pulumi stack output vpcId --stack us-east`); accept within 7 days",
    ),
    peeringConnectionId: optStr(
      'accepter side (us-east): `pulumi stack output peeringConnectionId --stack eu-west`',
    ),
  },
  dns: {
    zoneId: str('Route 53 hosted zone'),
    apiDomain: str('latency-routed API name, same in both stacks'),
    regionalApiDomain: str("this region's API name (certificate, health check)"),
    staticDomain: str('CDN name'),
    healthCheckIntervalSeconds: oneOf('seconds between Route 53 health checks: 10 or 30', [10, 30], 30),
    healthCheckFailureThreshold: int('failed checks before the region leaves DNS', 3),
    peerHealthCheckId: optStr("us-east only: eu-west's `healthCheckId` output, alarmed in us-east-1"),
  },
  service: {
    image: str(
      'seed of `/blueprint/<stack>/service/image` at stack creation, and the ECR repository the execution role may pull from; the deployed image is the SSM parameter value',
    ),
    cpu: int('Fargate task CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384', 1024),
    memory: int(
      "Fargate task memory in MiB: a size Fargate has for `service.cpu`, and at least 768 (1024 at 256 units): the service needs 512 beside the collector sidecar's 256",
      2048,
    ),
    port: int('container port', 3000),
    minTasks: int('autoscaling floor (also the first desired count)', 4),
    maxTasks: int('autoscaling ceiling', 50),
    cpuTarget: int('target tracking and scale-out threshold (%)', 70),
    scaleInCpu: int('scale in below this CPU (%)', 30),
    scaleOutMinutes: int('minutes above `cpuTarget` before a step scale-out', 2),
    scaleInMinutes: int('minutes below `scaleInCpu` before a scale-in', 10),
    spotWeight: int(
      'Fargate Spot weight (on-demand weight is 1); 0 = no Spot. Cost: Spot is ~70 % cheaper but interruptible',
      0,
    ),
    onDemandBase: int('tasks always on on-demand Fargate', 4),
    healthCheckGraceSeconds: int('ALB health-check grace after task start', 60),
    stopTimeoutSeconds: int('SIGTERM → SIGKILL (max 120 on Fargate)', 30),
    migrationCommand: list('command of the migration task', {
      default: ['node', 'dist/src/db/migrate-cli.js'],
    }),
    logRetentionDays: int('service log retention in days', 30),
    fundingWebhook: bool(
      "`true` once the operator has put the payment provider's key into `<cluster>/funding-webhook-secret`: the service gets FUNDING_WEBHOOK_SECRET; until then the webhook is off (ECS cannot start a task whose secret has no value)",
      false,
    ),
    mfaEncryption: bool(
      '`true` once the operator has put the TOTP seed key (32 random bytes, base64, the same in both regions) into `<cluster>/mfa-encryption-key`: the service gets MFA_ENCRYPTION_KEY and seals seeds; until then it runs with MFA_ENCRYPTION_OPTIONAL=true and stores them unsealed',
      false,
    ),
    collectorImage: str(
      'OpenTelemetry collector sidecar (ADOT) image; its config is `infra/collector/config.yaml`',
      { default: 'public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3' },
    ),
  },
  database: {
    role: oneOf(
      '`primary` (the writer) or `replica` (cross-region replica of `sourceStack`)',
      ['primary', 'replica'],
      'primary',
    ),
    identifier: str('RDS identifier; never change it (replacement) except in the printed failback plan', {
      default: (c) => dbIdentifiers(c.project, c.stack)[0],
      docDefault: '`blueprint-<stack>-db`',
    }),
    instanceClass: str('RDS instance class', { default: 'db.r6g.2xlarge' }),
    engineVersion: str('PostgreSQL major (minor versions follow AWS)', { default: '17' }),
    allocatedStorageGb: int('initial gp3 storage in GiB', 1000),
    maxAllocatedStorageGb: int('storage autoscaling ceiling in GiB', 2000),
    backupRetentionDays: int('backups and point-in-time recovery window in days', 7),
    readReplicas: int('same-region read replicas (`us-east` sets 1). Cost: each is a full instance', 0),
    sourceStack: optStr(
      "`<org>/blueprint/us-east`: the writer's stack; required for `replica`. Keep it after a promotion: it marks an instance born as a replica",
    ),
    maxConnections: optInt('max_connections for the 80 % connections alarm', 'from class'),
    replicaLagAlarmSeconds: int('replica lag alarm threshold in seconds', 60),
  },
  cache: {
    nodeType: str('ElastiCache node type (~26 GiB per node)', { default: 'cache.r7g.xlarge' }),
    engineVersion: str('Redis engine version', { default: '7.1' }),
    shards: int('cluster-mode shards', 3),
    replicasPerShard: int('replicas per shard', 2),
    snapshotRetentionDays: int('daily snapshots kept', 7),
  },
  storage: {
    tieringDays: int('uploads and assets move to Intelligent-Tiering (always readable by GET)', 30),
    infrequentAccessDays: int('logs move to Standard-IA', 30),
    glacierDays: int('logs move to Glacier Flexible Retrieval (reading them back needs a restore)', 90),
    logExpirationDays: int('logs expire', 365),
    noncurrentVersionDays: int(
      'noncurrent versions expire (at most 30: the erasure promise in docs/gdpr.md)',
      30,
    ),
    replicateTo: optOneOf("stack whose buckets receive this stack's uploads and assets", STACKS),
  },
  alarms: {
    email: str('SNS email subscription (confirm it once)'),
    alb5xxPercent: num('ALB 5xx share of requests (%)', 1),
    p95LatencyMs: num('p95 target response time (ms)', 500),
    dbConnectionsPercent: num('DB connections as % of max_connections', 80),
    ecsCpuPercent: num('service CPU (%)', 80),
    dbFreeStoragePercent: num('RDS free storage as % of allocated', 20),
    redisCpuPercent: num('Redis engine CPU per node (%)', 80),
    redisMemoryPercent: num('Redis memory per node (%)', 80),
  },
  edge: {
    cdn: bool('this stack owns CloudFront (only a us-east-1 stack can)', false),
    failoverStack: optOneOf("stack whose assets bucket is the CDN's failover origin", STACKS),
    cdnStack: optStr("`<org>/blueprint/us-east`: lets that stack's distribution read this stack's assets"),
    rateLimit: int('CloudFront WAF: requests per 5 min per IP', 2000),
  },
} as const

// biome-ignore lint/suspicious/noExplicitAny: matches any field to read its type parameters
type AnyField = Field<any, boolean>
// Read from `parse` alone: inferring through the optional `default` would add undefined.
type ValueOf<F> = F extends { parse(raw: unknown): { value: infer T } | { error: string } } ? T : never
type RequiredKeys<S> = { [K in keyof S as S[K] extends Field<unknown, true> ? never : K]: ValueOf<S[K]> }
type OptionalKeys<S> = { [K in keyof S as S[K] extends Field<unknown, true> ? K : never]?: ValueOf<S[K]> }
/** The parsed values of one schema section. */
export type SectionValues<S> = RequiredKeys<S> & OptionalKeys<S>
export type Section = keyof typeof SCHEMA

/** Dotted key as set with `--path` (`network.cidr`), or the bare key for `top`. */
export function keyPath(section: Section, key: string): string {
  return section === 'top' ? key : `${section}.${key}`
}

/** Every field with its section and key, in declaration order. */
export function fields(): { section: Section; key: string; field: AnyField }[] {
  return (Object.entries(SCHEMA) as [Section, Record<string, AnyField>][]).flatMap(([section, keys]) =>
    Object.entries(keys).map(([key, field]) => ({ section, key, field })),
  )
}

/** The default column of the docs table for a field. */
function docDefault(f: AnyField): string {
  if (f.docDefault) return f.docDefault
  if (f.default === undefined) return f.optional ? '—' : 'required'
  return `\`${Array.isArray(f.default) ? JSON.stringify(f.default) : String(f.default)}\``
}

/** The config table of docs/infrastructure.md, generated from the schema. */
export function configTable(): string {
  const rows = [
    '| Key | Default | Meaning |',
    '| --- | --- | --- |',
    "| `aws:region` | stack's region | must be `us-east-1` for `us-east`, `eu-west-1` for `eu-west` |",
    ...fields().map(
      ({ section, key, field: f }) => `| \`${keyPath(section, key)}\` | ${docDefault(f)} | ${f.doc} |`,
    ),
  ]
  return rows.join('\n')
}
