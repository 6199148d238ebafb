/**
 * The service's view of its databases: one writer that can move at run time (DR promotion) and
 * zero or more read replicas, with read-your-writes routing. Every query reaches PostgreSQL
 * through this object, so swapping the writer is invisible to the routes.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { PrismaClient } from '../generated/prisma/client.js'
import { closeClient, createPrismaClient, poolStatsOf } from './client.js'
import { endpointOf, type WriterEndpointReader, withEndpoint } from './writer-endpoint.js'

/** One read replica and what the last health check saw. */
interface Replica {
  endpoint: string
  client: PrismaClient
  healthy: boolean
  lagMs: number | undefined
}

/** A snapshot for logs, health and tests. */
export interface TopologyStatus {
  writer: string
  writerSwitches: number
  replicas: { endpoint: string; healthy: boolean; lagMs: number | undefined }[]
}

/** What the topology needs besides database configuration. */
export interface TopologyOptions {
  config: Config['database']
  log: FastifyBaseLogger
  /** Resolved lazily: Redis is registered after the database plugin. */
  redis: () => Redis | Cluster | undefined
  /** Reads the writer's `host:port`; without it the writer is DATABASE_URL's host for good. */
  writerSource?: WriterEndpointReader
  /**
   * Least time between two error-triggered re-checks. Errors arrive in bursts (every in-flight
   * request fails at once); SSM's default GetParameter quota is 40/s per account and region,
   * shared by every task, so an SSM source wants this higher than a file.
   * @default 500
   */
  recheckMinIntervalMs?: number
}

const RECENT_WRITE_KEY = 'db:recent-write:'

/** Writer + replicas with read-your-writes routing and a writer that can be switched at run time. */
export class DatabaseTopology {
  private writerClient: PrismaClient
  private writerAt: string
  private switches = 0
  private readonly replicas: Replica[]
  private nextReplica = 0
  private timers: NodeJS.Timeout[] = []
  private refreshing: Promise<void> | undefined
  private lastRecheck = 0
  private readonly retiring = new Set<Promise<void>>()
  private closed = false

  constructor(private readonly opts: TopologyOptions) {
    this.writerAt = endpointOf(opts.config.url)
    this.writerClient = this.clientFor(opts.config.url, 'writer')
    this.replicas = opts.config.replicaUrls.map((url) => ({
      endpoint: endpointOf(url),
      client: this.clientFor(url, 'replica'),
      healthy: true,
      lagMs: undefined,
    }))
  }

  /** The Prisma client of the current writer. Read it at every use; never keep it. */
  get writer(): PrismaClient {
    return this.writerClient
  }

  /** A healthy replica (round robin), or the writer when there is none. Not read-your-writes aware. */
  reader(): PrismaClient {
    return this.pickReplica()?.client ?? this.writerClient
  }

  /**
   * The client a read for `userId` should use: the writer while that user has a recent write
   * (their replica may not have it yet), a replica otherwise.
   */
  async readerFor(userId: string | undefined): Promise<PrismaClient> {
    if (this.replicas.length === 0) return this.writerClient
    if (userId && (await this.recentlyWrote(userId))) return this.writerClient
    return this.reader()
  }

  /** Remembers that `userId` just wrote, so their reads go to the writer for the read-your-writes window. */
  async markWrite(userId: string): Promise<void> {
    const redis = this.opts.redis()
    if (!redis || this.replicas.length === 0) return
    await redis.set(`${RECENT_WRITE_KEY}${userId}`, '1', 'PX', this.opts.config.readYourWritesMs)
  }

  /** True when `userId` wrote within the window; true as well when Redis cannot tell (safe side). */
  async recentlyWrote(userId: string): Promise<boolean> {
    const redis = this.opts.redis()
    if (!redis) return true
    try {
      return (await redis.exists(`${RECENT_WRITE_KEY}${userId}`)) === 1
    } catch {
      return true
    }
  }

  /** Which endpoints are in use and how the replicas looked at the last check. */
  status(): TopologyStatus {
    return {
      writer: this.writerAt,
      writerSwitches: this.switches,
      replicas: this.replicas.map(({ endpoint, healthy, lagMs }) => ({ endpoint, healthy, lagMs })),
    }
  }

  /** Reads the writer source and checks replicas once, then keeps doing so on their intervals. */
  async start(): Promise<void> {
    await Promise.all([this.refreshWriter(), this.checkReplicas()])
    const { writerPollMs, replicaCheckMs } = this.opts.config
    if (this.opts.writerSource) this.every(writerPollMs, () => this.refreshWriter())
    if (this.replicas.length > 0) this.every(replicaCheckMs, () => this.checkReplicas())
  }

  /**
   * Called when a query failed for lack of a database: the writer may have moved or a replica may
   * be gone, so look now instead of at the next poll. Throttled to one look per burst of errors.
   */
  recheckSoon(): void {
    const now = Date.now()
    if (this.closed || now - this.lastRecheck < (this.opts.recheckMinIntervalMs ?? 500)) return
    this.lastRecheck = now
    void this.refreshWriter()
    void this.checkReplicas()
  }

  /** Reads the writer source and switches when the endpoint changed; a failed read keeps the current writer. */
  refreshWriter(): Promise<void> {
    const source = this.opts.writerSource
    if (!source || this.closed) return Promise.resolve()
    // Polls and error-triggered re-checks share one read in flight.
    this.refreshing ??= source()
      .then((endpoint) => this.switchWriter(endpoint))
      .catch((err: Error) => {
        this.opts.log.warn(
          { err: { message: err.message } },
          'could not read the writer endpoint; keeping the current writer',
        )
      })
      .finally(() => {
        this.refreshing = undefined
      })
    return this.refreshing
  }

  /**
   * Points new queries at `endpoint` (`host:port`). The old client is retired, not killed: queries
   * and transactions already running on it finish before its pool closes.
   */
  switchWriter(endpoint: string): void {
    if (endpoint === this.writerAt || this.closed) return
    const previous = this.writerAt
    const old = this.writerClient
    this.writerClient = this.clientFor(withEndpoint(this.opts.config.url, endpoint), 'writer')
    this.writerAt = endpoint
    this.switches++
    this.opts.log.warn({ from: previous, to: endpoint }, 'database writer switched')
    this.retire(old)
  }

  /** Health and lag of every replica; a replica that does not answer in time stops taking reads. */
  async checkReplicas(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => this.checkReplica(replica)))
  }

  /** Connection counts of the writer's and every replica's pool (for metrics). */
  poolStats(): { role: 'writer' | 'replica'; stats: { used: number; waiting: number; max: number } }[] {
    const clients = [
      { role: 'writer' as const, client: this.writerClient },
      ...this.replicas.map((r) => ({ role: 'replica' as const, client: r.client })),
    ]
    return clients.flatMap(({ role, client }) => {
      const stats = poolStatsOf(client)
      return stats ? [{ role, stats }] : []
    })
  }

  /** Every configured replica's client, in or out of the read pool: readiness probes them itself. */
  replicaClients(): PrismaClient[] {
    return this.replicas.map((r) => r.client)
  }

  /** Stops polling and closes every pool, waiting for in-flight queries. */
  async close(): Promise<void> {
    this.closed = true
    for (const timer of this.timers) clearInterval(timer)
    await Promise.allSettled([
      closeClient(this.writerClient),
      ...this.replicas.map((r) => closeClient(r.client)),
      ...this.retiring,
    ])
  }

  private pickReplica(): Replica | undefined {
    const n = this.replicas.length
    for (let i = 0; i < n; i++) {
      const replica = this.replicas[(this.nextReplica + i) % n] as Replica
      if (replica.healthy) {
        this.nextReplica = (this.nextReplica + i + 1) % n
        return replica
      }
    }
    return undefined
  }

  private async checkReplica(replica: Replica): Promise<void> {
    const { connectTimeoutMs, replicaMaxLagMs } = this.opts.config
    let healthy = false
    try {
      const lagMs = await withTimeout(connectTimeoutMs * 2, replicationLagMs(replica.client))
      replica.lagMs = lagMs
      healthy = lagMs !== undefined && lagMs <= replicaMaxLagMs
    } catch {
      replica.lagMs = undefined
    }
    if (healthy !== replica.healthy) {
      const level = healthy ? 'info' : 'warn'
      this.opts.log[level](
        { replica: replica.endpoint, lagMs: replica.lagMs },
        healthy ? 'replica back in the read pool' : 'replica out of the read pool (down or lagging)',
      )
    }
    replica.healthy = healthy
  }

  private retire(client: PrismaClient): void {
    // A handler that read `app.prisma` just before the switch may still issue a query on the old
    // client; give it the query timeout before the pool refuses new work.
    const grace = this.opts.config.queryTimeoutMs
    const done = new Promise<void>((resolve) => setTimeout(resolve, grace).unref())
      .then(() => closeClient(client))
      .catch(() => {})
      .finally(() => this.retiring.delete(done))
    this.retiring.add(done)
  }

  private clientFor(url: string, role: 'writer' | 'replica'): PrismaClient {
    return createPrismaClient(
      { ...this.opts.config, url },
      {
        // A dropped connection is the first sign of a failover: look for a new writer at once.
        onPoolError: () => this.recheckSoon(),
        onConnectionError: () => this.recheckSoon(),
      },
      role,
    )
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms)
    timer.unref()
    this.timers.push(timer)
  }
}

/**
 * Replay lag of a standby in ms; 0 for a server that is not in recovery, and 0 when everything
 * received is replayed (an idle primary would otherwise look like a growing lag). Undefined when
 * the standby is behind but has replayed nothing yet, so its lag cannot be told.
 */
async function replicationLagMs(client: PrismaClient): Promise<number | undefined> {
  const rows = await client.$queryRawUnsafe<{ lag_ms: number | null }[]>(
    `SELECT CASE
       WHEN NOT pg_is_in_recovery() THEN 0
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8
     END AS lag_ms`,
  )
  const lag = rows[0]?.lag_ms
  return lag === null || lag === undefined ? undefined : Number(lag)
}

function withTimeout<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
