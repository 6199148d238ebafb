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
  sweepStaleDatabases,
  TcpProxy,
  withDatabase,
} from '../kit/index.js'
import { Balancer } from './haproxy.js'

const COMMITTED = join(REPO_ROOT, 'prisma/migrations')
const EXPAND = join(import.meta.dirname, 'migrations')

/** What one instance is started with; production-like except for cheap password hashing. */
/** The chaos fleet's funding webhook secret (throwaway local instances). */
export const CHAOS_FUNDING_SECRET = 'chaos-funding-webhook-secret-0123456789'

function instanceEnv(databaseUrl: string, redisUrl: string, redisPrefix: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    // Throwaway instances: no seed key, by the explicit opt-out.
    MFA_ENCRYPTION_OPTIONAL: 'true',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    LOG_LEVEL: 'warn',
    COOKIE_SECURE: 'false',
    // Cheaper hashes than production keep logins from dominating a short run on a small machine.
    PASSWORD_ARGON2_MEMORY_KIB: '4096',
    PASSWORD_ARGON2_PASSES: '1',
    // Deposits arrive as signed funding events (the only way money enters the ledger).
    FUNDING_WEBHOOK_SECRET: CHAOS_FUNDING_SECRET,
    FUNDING_MAX_AMOUNT: '1000000000',
    FUNDING_DAILY_LIMIT: '1000000000000000',
    // ECS sends SIGKILL 30 s after SIGTERM; the instance must be gone well before (server.ts).
    SHUTDOWN_TIMEOUT_MS: '10000',
    OUTBOX_RELAY_ENABLED: 'false',
  }
}

/** The scratch environment, the instances and the balancer of one chaos run. */
export class Fleet {
  readonly instances: ServiceProcess[] = []
  /** Every instance ever started, registered or not, so close() leaves no process behind. */
  private readonly spawned = new Set<ServiceProcess>()
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
    // Runs killed before their cleanup (SIGKILL, a crash) leave their database behind.
    await sweepStaleDatabases(DEFAULT_ADMIN_URL, 'chaos_', 60 * 60 * 1000)
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
  startInstance(): Promise<ServiceProcess> {
    const databaseUrl = withDatabase(`postgresql://postgres@${this.pgLink.endpoint}/`, this.db.name)
    const env = instanceEnv(databaseUrl, `redis://${this.redisLink.endpoint}`, this.redisPrefix)
    // A slow boot is no resilience failure (a busy machine takes minutes): only traffic is judged.
    const started = freePort().then((port) => ServiceProcess.start({ env, port, timeoutMs: 120_000 }))
    // Handled here so a boot failure surfaces where the instance is awaited instead of crashing the
    // run (and orphaning its processes) while another step is still in progress.
    started.then(
      (s) => this.spawned.add(s),
      () => {},
    )
    return started
  }

  /**
   * One step of a rolling deploy: the replacement ready, the old instance deregistered and drained,
   * SIGTERM, the replacement registered in its slot. Like ECS with minimumHealthyPercent 100 (the
   * service's setting), the new instance has booted before the old one leaves, so capacity dips by
   * one instance only for the seconds of drain and stop, not for a whole boot.
   */
  async replace(
    slot: number,
    replacement: Promise<ServiceProcess> = this.startInstance(),
  ): Promise<{
    bootMs: number
    drainMs: number
    stopMs: number
    registerMs: number
    exitCode: number | null
  }> {
    const balancer = this.balancer as Balancer
    const old = this.instances[slot] as ServiceProcess
    const t0 = Date.now()
    const next = await replacement
    const t1 = Date.now()
    await balancer.drain(slot)
    const t2 = Date.now()
    const exit = await old.stop(15_000)
    const t3 = Date.now()
    await balancer.register(slot, Number(new URL(next.url).port))
    this.instances[slot] = next
    return {
      bootMs: t1 - t0,
      drainMs: t2 - t1,
      stopMs: t3 - t2,
      registerMs: Date.now() - t3,
      exitCode: exit.code,
    }
  }

  /**
   * Every instance's `requests shed` warnings (platform/load-shedding.ts), newest last, each with the
   * instance's port: when a scenario fails on 503 OVERLOADED, which instance refused and which signal
   * decided it.
   */
  shedWarnings(): string[] {
    const lines: { time: number; text: string }[] = []
    for (const s of this.spawned) {
      const port = new URL(s.url).port
      for (const line of s.logs) {
        if (!line.includes('"requests shed"')) continue
        try {
          const { time, level, msg, pid, hostname, ...fields } = JSON.parse(line)
          lines.push({ time, text: `${new Date(time).toISOString()} :${port} ${JSON.stringify(fields)}` })
        } catch {}
      }
    }
    return lines.sort((a, b) => a.time - b.time).map((l) => l.text)
  }

  /** Copies the expand migration next to the committed ones and applies it to the scratch database. */
  async applyExpandMigration(): Promise<string[]> {
    cpSync(EXPAND, this.migrationsDir, { recursive: true })
    return (await applyMigrations({ databaseUrl: this.db.url, migrationsDir: this.migrationsDir })).applied
  }

  /** Stops everything this fleet started and drops its database and keys; never throws. */
  async close(): Promise<void> {
    await this.balancer?.stop().catch(() => {})
    await Promise.all([...this.spawned].map((s) => s.stop(2000).catch(() => {})))
    await this.pgLink.down().catch(() => {})
    await this.redisLink.down().catch(() => {})
    await this.db.drop().catch(() => {})
    await deleteKeys(DEFAULT_REDIS_URL, this.redisPrefix).catch(() => {})
    rmSync(join(this.migrationsDir, '..'), { recursive: true, force: true })
  }
}
