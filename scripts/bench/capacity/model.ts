/**
 * The capacity model: from per-instance figures a benchmark measured and each stack's config, the
 * tasks, database connections, writer, replica and Redis load per region at a number of daily
 * users, and the first resource to run out. Pure arithmetic; `cli.ts` reads the inputs.
 */
import type { CapacityFigures } from './figures.js'

/** Traffic assumptions (the seed's: 10:1 reads:writes, 3x evening peak, 10x spike). */
export interface Assumptions {
  /** API requests per daily user per day. */
  requestsPerUserPerDay: number
  readsPerWrite: number
  /** Evening peak over the daily average rate. */
  peakFactor: number
  /** Spike over the daily average rate. */
  spikeFactor: number
  /** Share of the traffic served by us-east (the rest by eu-west). */
  usShare: number
  /** Simple commands per second one Redis shard primary takes (ElastiCache r7g: ~100k is conservative). */
  redisOpsPerShard: number
  /** Share of max_connections the pools may take (the connection alarm fires at 80%). */
  connectionHeadroom: number
}

/** Defaults of the assumptions; each can be overridden (`--assume key=value`). */
export const DEFAULT_ASSUMPTIONS: Assumptions = {
  requestsPerUserPerDay: 100,
  readsPerWrite: 10,
  peakFactor: 3,
  spikeFactor: 10,
  usShare: 0.5,
  redisOpsPerShard: 100_000,
  connectionHeadroom: 0.8,
}

/** vCPUs of the RDS instance classes the model can recommend, smallest first per family. */
export const DB_CLASS_VCPU: Record<string, number> = {
  'db.t4g.medium': 2,
  'db.t4g.large': 2,
  'db.m6g.large': 2,
  'db.m6g.xlarge': 4,
  'db.m6g.2xlarge': 8,
  'db.r6g.large': 2,
  'db.r6g.xlarge': 4,
  'db.r6g.2xlarge': 8,
  'db.r6g.4xlarge': 16,
  'db.r6g.8xlarge': 32,
  'db.r6g.12xlarge': 48,
  'db.r6g.16xlarge': 64,
  'db.r7g.large': 2,
  'db.r7g.xlarge': 4,
  'db.r7g.2xlarge': 8,
  'db.r7g.4xlarge': 16,
  'db.r7g.8xlarge': 32,
  'db.r7g.12xlarge': 48,
  'db.r7g.16xlarge': 64,
}

/** What the model needs of one stack's config. */
export interface RegionInput {
  stack: string
  /** Fargate task vCPUs (service.cpu / 1024). */
  taskVcpu: number
  minTasks: number
  maxTasks: number
  /** CPU percentage autoscaling holds. */
  cpuTarget: number
  /** pg connections per pool per task (DATABASE_POOL_MAX). */
  poolMax: number
  db: { role: 'primary' | 'replica'; instanceClass: string; maxConnections: number; readReplicas: number }
  cache: { nodeType: string; shards: number }
}

/** One load level's figures for one region. */
export interface RegionLoad {
  stack: string
  rps: number
  reads: number
  writes: number
  tasks: number
  tasksOverMax: boolean
  /** Queries per second this region's tasks send to the writer (in the primary region). */
  writerQueries: number
  /** Connections this region's tasks may open to the writer (tasks x pool). */
  writerConnections: number
  /** Load on one of this region's read replicas, as a share of its capacity; 0 without replicas. */
  replicaUtilization: number
  /** Connections per replica of this region. */
  replicaConnections: number
  /** Redis commands per second per shard of this region's cluster. */
  redisPerShard: number
  redisUtilization: number
}

/** One load level over both regions, with the writer's totals. */
export interface LevelResult {
  level: 'average' | 'peak' | 'spike'
  totalRps: number
  regions: RegionLoad[]
  writerConnections: number
  writerMaxConnections: number
  /** Writer load as a share of its capacity (writes as TPC-B transactions, reads as selects). */
  writerUtilization: number
}

/** A resource's use at the spike of the modelled DAU, the DAU it runs out at, and the fix. */
export interface Bottleneck {
  resource: string
  utilization: number
  saturatesAtDau: number
  change: string
}

/** Requests per second one vCPU of the service answers at the reads:writes mix. */
export function perVcpuRps(figures: CapacityFigures, readsPerWrite: number): number {
  const readShare = readsPerWrite / (readsPerWrite + 1)
  const readPerVcpu = figures.read.rps / figures.instance.vcpu
  const writePerVcpu = figures.write.rps / figures.instance.vcpu
  return 1 / (readShare / readPerVcpu + (1 - readShare) / writePerVcpu)
}

/** Average requests per second of `dau` daily users. */
export function averageRps(dau: number, a: Assumptions): number {
  return (dau * a.requestsPerUserPerDay) / 86_400
}

function regionLoad(region: RegionInput, rps: number, figures: CapacityFigures, a: Assumptions): RegionLoad {
  const writes = rps / (a.readsPerWrite + 1)
  const reads = rps - writes
  const perTask = perVcpuRps(figures, a.readsPerWrite) * region.taskVcpu * (region.cpuTarget / 100)
  const needed = Math.max(region.minTasks, Math.ceil(rps / perTask))
  // Reads go to this region's replicas when it has any (eu-west's is the cross-region replica).
  const replicas = region.db.role === 'replica' ? 1 + region.db.readReplicas : region.db.readReplicas
  const readQueries = reads * figures.read.dbRoundTrips
  const selectPerVcpu = figures.database.selectTps / figures.database.vcpu
  const replicaCapacity = selectPerVcpu * (DB_CLASS_VCPU[region.db.instanceClass] ?? Number.NaN)
  const redisOps = reads * figures.read.redisCommands + writes * figures.write.redisCommands
  const redisPerShard = redisOps / region.cache.shards
  return {
    stack: region.stack,
    rps,
    reads,
    writes,
    tasks: needed,
    tasksOverMax: needed > region.maxTasks,
    writerQueries: writes * figures.write.writerRoundTrips + (replicas === 0 ? readQueries : 0),
    writerConnections: needed * region.poolMax,
    replicaUtilization: replicas > 0 ? readQueries / replicas / replicaCapacity : 0,
    replicaConnections: replicas > 0 ? needed * region.poolMax : 0,
    redisPerShard,
    redisUtilization: redisPerShard / a.redisOpsPerShard,
  }
}

/** Both regions at one load level. */
export function modelLevel(
  level: LevelResult['level'],
  dau: number,
  regions: readonly RegionInput[],
  figures: CapacityFigures,
  a: Assumptions,
): LevelResult {
  const factor = level === 'average' ? 1 : level === 'peak' ? a.peakFactor : a.spikeFactor
  const totalRps = averageRps(dau, a) * factor
  const loads = regions.map((r) =>
    regionLoad(r, totalRps * (r.stack === 'us-east' ? a.usShare : 1 - a.usShare), figures, a),
  )
  const primary = regions.find((r) => r.db.role === 'primary') ?? regions[0]
  const writerVcpu = DB_CLASS_VCPU[primary?.db.instanceClass ?? ''] ?? Number.NaN
  const tpcbPerVcpu = figures.database.tpcbTps / figures.database.vcpu
  const selectPerVcpu = figures.database.selectTps / figures.database.vcpu
  const writes = loads.reduce((n, l) => n + l.writes * figures.write.writerRoundTrips, 0)
  const readsOnWriter = loads.reduce((n, l) => n + l.writerQueries, 0) - writes
  return {
    level,
    totalRps,
    regions: loads,
    // Every task of both regions keeps a writer pool: eu-west's write across the ocean.
    writerConnections: loads.reduce((n, l) => n + l.writerConnections, 0),
    writerMaxConnections: primary?.db.maxConnections ?? Number.NaN,
    writerUtilization: writes / (tpcbPerVcpu * writerVcpu) + readsOnWriter / (selectPerVcpu * writerVcpu),
  }
}

/** The smallest class of the same family with at least `vcpu` vCPUs, if any. */
export function classWithVcpu(current: string, vcpu: number): string | undefined {
  const family = current.split('.').slice(0, 2).join('.')
  return Object.entries(DB_CLASS_VCPU)
    .filter(([name, v]) => name.startsWith(`${family}.`) && v >= vcpu)
    .sort((x, y) => x[1] - y[1])[0]?.[0]
}

/** Every resource's use at the spike of `dau`, sorted by the DAU it runs out at (first bottleneck first). */
export function bottlenecks(
  dau: number,
  regions: readonly RegionInput[],
  figures: CapacityFigures,
  a: Assumptions,
): Bottleneck[] {
  const spike = modelLevel('spike', dau, regions, figures, a)
  const out: Bottleneck[] = []
  const add = (resource: string, utilization: number, change: string) =>
    out.push({
      resource,
      utilization,
      saturatesAtDau: utilization > 0 ? dau / utilization : Infinity,
      change,
    })
  const primary = regions.find((r) => r.db.role === 'primary') ?? (regions[0] as RegionInput)
  const writerVcpu = DB_CLASS_VCPU[primary.db.instanceClass] ?? Number.NaN

  for (const [i, r] of regions.entries()) {
    const load = spike.regions[i] as RegionLoad
    add(
      `${r.stack} tasks (max ${r.maxTasks})`,
      load.tasks / r.maxTasks,
      `pulumi config set blueprint:service.maxTasks ${load.tasks} --path --stack ${r.stack}`,
    )
    add(
      `${r.stack} Redis per shard (${r.cache.shards} x ${r.cache.nodeType})`,
      load.redisUtilization,
      `pulumi config set blueprint:cache.shards ${Math.ceil(r.cache.shards * load.redisUtilization)} --path --stack ${r.stack}`,
    )
    if (load.replicaConnections > 0) {
      const needed = Math.ceil(
        load.replicaUtilization * (r.db.role === 'replica' ? 1 + r.db.readReplicas : r.db.readReplicas),
      )
      add(
        `${r.stack} read replica load (${r.db.instanceClass})`,
        load.replicaUtilization,
        `${r.db.role === 'replica' ? 'same-region read replicas next to the cross-region one' : `pulumi config set blueprint:database.readReplicas ${needed} --path --stack ${r.stack}`}`,
      )
      add(
        `${r.stack} connections per read replica (max ${r.db.maxConnections})`,
        load.replicaConnections / (r.db.maxConnections * a.connectionHeadroom),
        'RDS Proxy in front of the replicas, or a lower DATABASE_POOL_MAX',
      )
    }
  }
  const poolFits = Math.floor(
    (spike.writerMaxConnections * a.connectionHeadroom) / spike.regions.reduce((n, l) => n + l.tasks, 0),
  )
  add(
    `writer connections, both regions' tasks (max_connections ${spike.writerMaxConnections} of ${primary.db.instanceClass})`,
    spike.writerConnections / (spike.writerMaxConnections * a.connectionHeadroom),
    `RDS Proxy in front of the writer (multiplexes ${spike.writerConnections} client connections), or DATABASE_POOL_MAX=${Math.max(1, poolFits)}`,
  )
  const biggerClass = classWithVcpu(primary.db.instanceClass, Math.ceil(writerVcpu * spike.writerUtilization))
  add(
    `writer load (${primary.db.instanceClass}, ${writerVcpu} vCPU)`,
    spike.writerUtilization,
    biggerClass
      ? `pulumi config set blueprint:database.instanceClass ${biggerClass} --path --stack ${primary.stack}`
      : 'beyond the largest instance class: shard the ledger by user across several writers',
  )
  return out.sort((x, y) => x.saturatesAtDau - y.saturatesAtDau)
}
