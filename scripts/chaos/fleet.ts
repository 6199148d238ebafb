/**
 * Two or three service instances behind the balancer, each a real process on its own port, all
 * reaching PostgreSQL and Redis through the kit's TCP proxies so an outage can be injected by
 * cutting a proxy (the shared servers themselves are never stopped).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyMigrations } from '../../app/src/db/migrate.js'
import {
  createScratchDatabase,
  DEFAULT_ADMIN_URL,
  DEFAULT_REDIS_URL,
  deleteKeys,
  freePort,
  newRedisPrefix,
  REPO_ROOT,
  type ScratchDatabase,
  ServiceProcess,
  TcpProxy,
  withDatabase,
} from '../kit/index.js'
import { Balancer } from './haproxy.js'

const COMMITTED = join(REPO_ROOT, 'prisma/migrations')
const EXPAND = join(import.meta.dirname, 'migrations')

/** What one instance is started with; production-like except for cheap password hashing. */
function instanceEnv(databaseUrl: string, redisUrl: string, redisPrefix: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    LOG_LEVEL: 'warn',
    COOKIE_SECURE: 'false',
    SCRYPT_LOG_N: '12',
    // ECS sends SIGKILL 30 s after SIGTERM; the instance must be gone well before (server.ts).
    SHUTDOWN_TIMEOUT_MS: '10000',
    OUTBOX_RELAY_ENABLED: 'false',
  }
}

/** The scratch environment, the instances and the balancer of one chaos run. */
export class Fleet {
  readonly instances: ServiceProcess[] = []
  private constructor(
    readonly db: ScratchDatabase,
    readonly redisPrefix: string,
    readonly pgLink: TcpProxy,
    readonly redisLink: TcpProxy,
    private readonly migrationsDir: string,
    public balancer?: Balancer,
  ) {}

  /** Scratch database (committed migrations), Redis prefix, proxies, `size` instances, balancer. */
  static async start(size: number): Promise<Fleet> {
    const db = await createScratchDatabase(DEFAULT_ADMIN_URL, 'chaos_')
    const migrationsDir = join(mkdtempSync(join(tmpdir(), 'blueprint-chaos-')), 'migrations')
    cpSync(COMMITTED, migrationsDir, { recursive: true })
    const admin = new URL(DEFAULT_ADMIN_URL)
    const redis = new URL(DEFAULT_REDIS_URL)
    const pgLink = new TcpProxy(admin.hostname, Number(admin.port || 5432))
    const redisLink = new TcpProxy(redis.hostname, Number(redis.port || 6379))
    const fleet = new Fleet(db, newRedisPrefix('chaos:'), pgLink, redisLink, migrationsDir)
    try {
      await applyMigrations({ databaseUrl: db.url, migrationsDir })
      await pgLink.up()
      await redisLink.up()
      const started = await Promise.all(Array.from({ length: size }, () => fleet.startInstance()))
      fleet.instances.push(...started)
      fleet.balancer = await Balancer.start({ ports: started.map((s) => Number(new URL(s.url).port)) })
      return fleet
    } catch (err) {
      await fleet.close()
      throw err
    }
  }

  get url(): string {
    if (!this.balancer) throw new Error('fleet not started')
    return this.balancer.url
  }

  /** A new instance on a free port, ready (GET /health/ready answered 200). */
  async startInstance(): Promise<ServiceProcess> {
    const databaseUrl = withDatabase(`postgresql://postgres@${this.pgLink.endpoint}/`, this.db.name)
    return ServiceProcess.start({
      env: instanceEnv(databaseUrl, `redis://${this.redisLink.endpoint}`, this.redisPrefix),
      port: await freePort(),
    })
  }

  /** One step of a rolling deploy: deregister and drain, SIGTERM, new instance ready, registered. */
  async replace(
    slot: number,
  ): Promise<{ drainMs: number; stopMs: number; startMs: number; exitCode: number | null }> {
    const balancer = this.balancer as Balancer
    const old = this.instances[slot] as ServiceProcess
    const t0 = Date.now()
    await balancer.drain(slot)
    const t1 = Date.now()
    const exit = await old.stop(15_000)
    const t2 = Date.now()
    const next = await this.startInstance()
    await balancer.register(slot, Number(new URL(next.url).port))
    this.instances[slot] = next
    return { drainMs: t1 - t0, stopMs: t2 - t1, startMs: Date.now() - t2, exitCode: exit.code }
  }

  /** Copies the expand migration next to the committed ones and applies it to the scratch database. */
  async applyExpandMigration(): Promise<string[]> {
    cpSync(EXPAND, this.migrationsDir, { recursive: true })
    return (await applyMigrations({ databaseUrl: this.db.url, migrationsDir: this.migrationsDir })).applied
  }

  /** Stops everything this fleet started and drops its database and keys; never throws. */
  async close(): Promise<void> {
    await this.balancer?.stop().catch(() => {})
    await Promise.all(this.instances.map((s) => s.stop(2000).catch(() => {})))
    await this.pgLink.down().catch(() => {})
    await this.redisLink.down().catch(() => {})
    await this.db.drop().catch(() => {})
    await deleteKeys(DEFAULT_REDIS_URL, this.redisPrefix).catch(() => {})
    rmSync(join(this.migrationsDir, '..'), { recursive: true, force: true })
  }
}
