import * as pulumi from '@pulumi/pulumi'
import { STACK_REGIONS, type StackName } from '../../app/src/contract.js'
import {
  type Field,
  keyPath,
  SCHEMA,
  type SchemaContext,
  type Section,
  type SectionValues,
} from './config-schema.js'

export { STACK_REGIONS, type StackName }

/** Days within which an erased user's files leave every bucket, replicas included (docs/gdpr.md). */
export const ERASURE_PROMISE_DAYS = 30

/** Role of the regional PostgreSQL: the writer, or a cross-region read replica of the other stack's writer. */
export type DatabaseRole = 'primary' | 'replica'

type Values<S extends Section> = SectionValues<(typeof SCHEMA)[S]>
// Each section's type is inferred from its schema (config-schema.ts): keys, types and defaults are declared there.
export type NetworkConfig = Values<'network'>
export type DnsConfig = Values<'dns'>
export type ServiceConfig = Values<'service'>
export type DatabaseConfig = Values<'database'>
export type CacheConfig = Values<'cache'>
export type StorageConfig = Values<'storage'>
export type AlarmConfig = Values<'alarms'>
export type EdgeConfig = Values<'edge'>

/** Everything one stack needs, validated. */
export type StackConfig = { project: string; stack: StackName; region: string } & Values<'top'> & {
    network: NetworkConfig
    dns: DnsConfig
    service: ServiceConfig
    database: DatabaseConfig
    cache: CacheConfig
    storage: StorageConfig
    alarms: AlarmConfig
    edge: EdgeConfig
  }

/** Raised when stack config is missing or impossible; the message says which `pulumi config set` fixes it. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Raw = Record<string, unknown>

/** Reads and validates this stack's configuration. */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject()
  const stack = pulumi.getStack()
  if (!(stack in STACK_REGIONS)) {
    throw new ConfigError(`unknown stack "${stack}"; stacks are ${Object.keys(STACK_REGIONS).join(', ')}`)
  }
  const stackName = stack as StackName
  const cfg = new pulumi.Config(project)
  const region = new pulumi.Config('aws').get('region') ?? STACK_REGIONS[stackName]
  if (region !== STACK_REGIONS[stackName]) {
    throw new ConfigError(
      `stack ${stack} runs in ${STACK_REGIONS[stackName]}, not ${region}; run: pulumi config set aws:region ${STACK_REGIONS[stackName]} --stack ${stack}`,
    )
  }
  const set = (key: string, example: string) =>
    `pulumi config set ${project}:${key} ${example} --stack ${stack}`
  const context: SchemaContext = { project, stack: stackName, region }
  const read = (section: Section, raw: Raw) => readSection(section, raw, context, set)
  const obj = (key: string): Raw => (cfg.getObject<Raw>(key) ?? {}) as Raw
  const top = Object.fromEntries(Object.keys(SCHEMA.top).map((k) => [k, cfg.get(k)]))

  const config = {
    project,
    stack: stackName,
    region,
    ...read('top', top),
    network: read('network', obj('network')),
    dns: read('dns', obj('dns')),
    service: read('service', obj('service')),
    database: read('database', obj('database')),
    cache: read('cache', obj('cache')),
    storage: read('storage', obj('storage')),
    alarms: read('alarms', obj('alarms')),
    edge: read('edge', obj('edge')),
  } as StackConfig
  validate(config, set)
  return config
}

type SetHint = (key: string, example: string) => string

/** Fargate's Linux task sizes: memory (MiB) from, to and step for each task CPU value (ECS RegisterTaskDefinition). */
const FARGATE_SIZES: Record<number, [number, number, number]> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
}

/**
 * Why ECS would refuse a Fargate task of `cpu` units and `memory` MiB, or undefined. Caught here, a
 * typo fails the preview with the valid values instead of `pulumi up` failing at RegisterTaskDefinition
 * ("No Fargate configuration exists for given values") after the rest of the region was built.
 */
export function fargateSizeProblem(cpu: number, memory: number): string | undefined {
  const range = FARGATE_SIZES[cpu]
  if (!range) {
    return `service.cpu must be one of Fargate's task sizes ${Object.keys(FARGATE_SIZES).join(', ')} (got ${cpu})`
  }
  const [from, to, step] = range
  // 256 units take 512, 1024 or 2048: not an even step from 512, so listed apart.
  const ok =
    cpu === 256
      ? [512, 1024, 2048].includes(memory)
      : memory >= from && memory <= to && (memory - from) % step === 0
  if (ok) return undefined
  const sizes = cpu === 256 ? '512, 1024 or 2048 MiB' : `${from}..${to} MiB in steps of ${step}`
  return `service.memory ${memory} MiB is not a Fargate size for service.cpu ${cpu}: ${sizes}`
}

/** The telemetry collector sidecar's hard memory limit (MiB) in the service's task (service.ts). */
export const COLLECTOR_MEMORY_MIB = 256
/**
 * What the service container needs of the task's memory beside the collector: the benchmark
 * measures its peak RSS at 345-392 MB, and a container past the task's memory is killed.
 */
export const SERVICE_MIN_MEMORY_MIB = 512

function validate(c: StackConfig, set: SetHint): void {
  const fail = (msg: string, key: string, example: string) => {
    throw new ConfigError(`${msg}; run: ${set(key, example)}`)
  }
  if (!/^\d+\.\d+\.\d+\.\d+\/16$/.test(c.network.cidr)) {
    fail(`network.cidr must be a /16, got ${c.network.cidr}`, 'network.cidr', '10.10.0.0/16 --path')
  }
  const n = c.network
  if (n.peerCidr !== undefined && !/^\d+\.\d+\.\d+\.\d+\/16$/.test(n.peerCidr)) {
    fail(`network.peerCidr must be a /16, got ${n.peerCidr}`, 'network.peerCidr', '10.20.0.0/16 --path')
  }
  if (n.peerCidr === n.cidr) {
    // Peering refuses overlapping CIDRs; both stacks carve the same /20 layout from their /16.
    fail(`network.peerCidr overlaps network.cidr (${n.cidr})`, 'network.peerCidr', '10.20.0.0/16 --path')
  }
  if ((n.peerVpcId || n.peeringConnectionId) && !n.peerCidr) {
    fail('peering needs the other VPC CIDR', 'network.peerCidr', '10.20.0.0/16 --path')
  }
  if (n.peerVpcId && n.peeringConnectionId) {
    // One stack requests, the other accepts: a stack doing both would own a resource in the other region.
    fail(
      'set network.peerVpcId (requester) or network.peeringConnectionId (accepter), not both',
      'network.peeringConnectionId',
      '"" --path',
    )
  }
  if (c.network.azs.length !== 3)
    fail('network.azs must list 3 zones', 'network.azs[0]', `${c.region}a --path`)
  const s = c.service
  if (s.minTasks < 1 || s.maxTasks < s.minTasks) {
    fail(`service.minTasks..maxTasks is ${s.minTasks}..${s.maxTasks}`, 'service.maxTasks', '50 --path')
  }
  if (s.scaleInCpu >= s.cpuTarget) {
    fail('service.scaleInCpu must be below service.cpuTarget', 'service.scaleInCpu', '30 --path')
  }
  const size = fargateSizeProblem(s.cpu, s.memory)
  const leavesServiceRoom = (memory: number) => memory - COLLECTOR_MEMORY_MIB >= SERVICE_MIN_MEMORY_MIB
  // A size Fargate has and that leaves the service its share: the suggested fix is the last one needed.
  const usable = (cpu: number, memory: number) =>
    fargateSizeProblem(cpu, memory) === undefined && leavesServiceRoom(memory)
  if (size) {
    const range = FARGATE_SIZES[s.cpu]
    if (range) {
      // Ascending but for the range's start, below which nothing is valid (256 units: 512, 1024, 2048).
      const smallest = [512, 1024, 2048, range[0]].find((m) => usable(s.cpu, m))
      fail(size, 'service.memory', `${smallest ?? range[0]} --path`)
    }
    // The task size that takes the configured memory; with a memory too small for any, the default.
    const fits = [1024, ...Object.keys(FARGATE_SIZES).map(Number)].find((cpu) => usable(cpu, s.memory))
    fail(size, 'service.cpu', `${fits ?? 1024} --path`)
  }
  if (!leavesServiceRoom(s.memory)) {
    // Fargate takes 256 units with 512 MiB, but the task would be killed for memory under load.
    fail(
      `service.memory ${s.memory} MiB leaves ${s.memory - COLLECTOR_MEMORY_MIB} MiB for the service beside the ` +
        `telemetry collector's ${COLLECTOR_MEMORY_MIB} MiB; it needs at least ${SERVICE_MIN_MEMORY_MIB} MiB ` +
        '(its peak RSS under load is about 400 MB)',
      'service.memory',
      '1024 --path',
    )
  }
  if (s.stopTimeoutSeconds < 2 || s.stopTimeoutSeconds > 120) {
    fail('service.stopTimeoutSeconds must be 2..120 on Fargate', 'service.stopTimeoutSeconds', '30 --path')
  }
  if (s.onDemandBase > s.minTasks) {
    fail(
      'service.onDemandBase cannot exceed service.minTasks',
      'service.onDemandBase',
      `${s.minTasks} --path`,
    )
  }
  const d = c.database
  if (d.role === 'replica' && !d.sourceStack) {
    fail('replica role needs database.sourceStack', 'database.sourceStack', 'my-org/blueprint/us-east --path')
  }
  if (d.role === 'replica' && d.readReplicas > 0) {
    fail(
      'a replica-role region cannot also run same-region read replicas',
      'database.readReplicas',
      '0 --path',
    )
  }
  if (d.maxAllocatedStorageGb < d.allocatedStorageGb) {
    fail(
      'database.maxAllocatedStorageGb is below allocatedStorageGb',
      'database.maxAllocatedStorageGb',
      '2000 --path',
    )
  }
  if (d.backupRetentionDays < 1) {
    fail(
      'backups (and point-in-time recovery) need backupRetentionDays >= 1',
      'database.backupRetentionDays',
      '7 --path',
    )
  }
  if (c.cache.shards < 1 || c.cache.replicasPerShard < 1) {
    fail(
      'cache needs >= 1 shard and >= 1 replica per shard for failover',
      'cache.replicasPerShard',
      '2 --path',
    )
  }
  const st = c.storage
  if (!(st.infrequentAccessDays >= 30 && st.glacierDays > st.infrequentAccessDays)) {
    // S3 refuses Standard-IA transitions earlier than 30 days.
    fail('storage needs infrequentAccessDays >= 30 < glacierDays', 'storage.glacierDays', '90 --path')
  }
  if (st.logExpirationDays <= st.glacierDays) {
    fail('storage.logExpirationDays must be after glacierDays', 'storage.logExpirationDays', '365 --path')
  }
  if (st.noncurrentVersionDays < 1 || st.noncurrentVersionDays > ERASURE_PROMISE_DAYS) {
    // docs/gdpr.md promises an erased user's files are gone from every bucket and replica within this window.
    fail(
      `storage.noncurrentVersionDays must be 1..${ERASURE_PROMISE_DAYS} (the erasure promise)`,
      'storage.noncurrentVersionDays',
      `${ERASURE_PROMISE_DAYS} --path`,
    )
  }
  if (st.replicateTo === c.stack)
    fail('storage.replicateTo names this stack', 'storage.replicateTo', 'eu-west --path')
  if (c.edge.cdn && c.region !== 'us-east-1') {
    // CloudFront certificates and CloudFront-scope WAF ACLs only exist in us-east-1.
    fail('the CDN must be owned by the us-east-1 stack', 'edge.cdn', 'false --path')
  }
  if (c.dns.peerHealthCheckId && c.region !== 'us-east-1') {
    fail(
      'only the us-east-1 stack alarms on health checks (Route 53 metrics live there)',
      'dns.peerHealthCheckId',
      '"" --path',
    )
  }
  if (c.edge.cdn && !c.edge.failoverStack) {
    fail('the CDN needs a failover origin stack', 'edge.failoverStack', 'eu-west --path')
  }
  if (c.edge.cdn && c.edge.failoverStack === c.stack) {
    fail('edge.failoverStack names this stack', 'edge.failoverStack', 'eu-west --path')
  }
}

/** Parses one section through its schema: defaults, types, required keys, and no key the schema does not know. */
function readSection(
  section: Section,
  raw: Raw,
  context: SchemaContext,
  set: SetHint,
): Record<string, unknown> {
  const schema = SCHEMA[section] as Record<string, Field<unknown, boolean>>
  const flag = section === 'top' ? '' : ' --path'
  const unknown = Object.keys(raw).filter((k) => !(k in schema))
  if (unknown.length) {
    throw new ConfigError(
      `unknown key ${keyPath(section, unknown[0] as string)}; ${section} keys are ${Object.keys(schema).join(', ')} (docs/infrastructure.md)`,
    )
  }
  const out: Record<string, unknown> = {}
  for (const [key, f] of Object.entries(schema)) {
    const where = keyPath(section, key)
    const value = raw[key]
    if (value === undefined || value === '') {
      if (f.default !== undefined) {
        out[key] =
          typeof f.default === 'function' ? (f.default as (c: SchemaContext) => unknown)(context) : f.default
      } else if (!f.optional) {
        throw new ConfigError(
          `missing ${section === 'top' ? `${context.project}:` : ''}${where}; run: ${set(where, `${f.example ?? '<value>'}${flag}`)}`,
        )
      }
      continue
    }
    const parsed = f.parse(value)
    if ('error' in parsed)
      throw new ConfigError(`${where} must be ${parsed.error}, got ${JSON.stringify(value)}`)
    out[key] = parsed.value
  }
  return out
}
