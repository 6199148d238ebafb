/**
 * Extra PostgreSQL clusters on this machine (initdb, pg_ctl, pg_basebackup), for the local DR
 * drill and for tests that need a second real server. Runs the server binaries as `postgres`
 * when we are root, because PostgreSQL refuses to run as root.
 */
import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './net.js'

const run = promisify(execFile)
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'
const AS_ROOT = process.getuid?.() === 0

/** Runs a PostgreSQL binary (as `postgres` when we are root) and returns its stdout. */
async function pg(bin: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv] = AS_ROOT
    ? ['runuser', ['-u', 'postgres', '--', join(BIN, bin), ...args]]
    : [join(BIN, bin), args]
  try {
    const { stdout } = await run(file, argv, { timeout: timeoutMs })
    return stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`)
  }
}

/** A scratch directory the postgres user can write to; remove it with `rmSync(dir, {recursive})`. */
export function scratchDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `blueprint-${tag}-`))
  if (AS_ROOT) chownSync(dir, postgresUid(), postgresGid())
  return dir
}

let ids: { uid: number; gid: number } | undefined
function postgresIds(): { uid: number; gid: number } {
  ids ??= {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  }
  return ids
}
const postgresUid = () => postgresIds().uid
const postgresGid = () => postgresIds().gid

/** Settings of a cluster meant to be a streaming primary (or a promotable standby). */
const REPLICATION_SETTINGS = {
  listen_addresses: "'127.0.0.1'",
  wal_level: 'replica',
  max_wal_senders: '5',
  max_replication_slots: '5',
  hot_standby: 'on',
  wal_keep_size: "'256MB'",
  max_connections: '100',
  shared_buffers: "'32MB'",
  logging_collector: 'off',
}

/** One local PostgreSQL cluster: a data directory and a port. */
export class LocalCluster {
  constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  /** initdb a new cluster (trust auth, replication allowed from 127.0.0.1) under `parent`. */
  static async create(
    parent: string,
    name: string,
    extra: Record<string, string> = {},
  ): Promise<LocalCluster> {
    const cluster = new LocalCluster(join(parent, name), await freePort())
    await pg('initdb', [
      '-D',
      cluster.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ])
    cluster.configure({ ...REPLICATION_SETTINGS, ...extra })
    return cluster
  }

  /**
   * A streaming standby of `primary` made with pg_basebackup -R. `via` (host:port) is where the
   * standby connects for WAL, for example a proxy that adds latency; default: the primary itself.
   */
  static async standbyOf(
    primary: LocalCluster,
    parent: string,
    name: string,
    opts: { via?: { host: string; port: number }; applicationName?: string } = {},
  ): Promise<LocalCluster> {
    const standby = new LocalCluster(join(parent, name), await freePort())
    const via = opts.via ?? { host: '127.0.0.1', port: primary.port }
    const conninfo = `host=${via.host} port=${via.port} user=postgres application_name=${opts.applicationName ?? name}`
    await pg(
      'pg_basebackup',
      ['-d', conninfo, '-D', standby.dataDir, '-R', '-X', 'stream', '--checkpoint=fast'],
      120_000,
    )
    standby.configure({})
    return standby
  }

  /** postgresql:// URL of a database on this cluster. */
  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    await pg('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dataDir, 'server.log'),
      '-w',
      '-t',
      '30',
      'start',
    ])
  }

  /** `immediate` is a crash: no checkpoint, no goodbye to clients or standbys. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await pg('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop'])
  }

  /** Stops the cluster if it runs; never throws (cleanup path). */
  async stopQuietly(): Promise<void> {
    await this.stop('immediate').catch(() => {})
  }

  /** Ends recovery: this standby becomes a writer. */
  async promote(): Promise<void> {
    await pg('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', 'promote'])
  }

  private configure(settings: Record<string, string>): void {
    const lines = Object.entries({
      ...settings,
      port: String(this.port),
      // The Debian default (/var/run/postgresql) belongs to the machine's main cluster.
      unix_socket_directories: `'${this.dataDir}'`,
    }).map(([k, v]) => `${k} = ${v}`)
    appendFileSync(
      join(this.dataDir, 'postgresql.conf'),
      `\n# blueprint local cluster\n${lines.join('\n')}\n`,
    )
  }
}

/** Removes a scratch directory, whoever owns the files in it. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** Ensures a directory exists (owned by postgres when we are root). */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true })
  if (AS_ROOT) chownSync(dir, postgresUid(), postgresGid())
}

/** Gives a file to the postgres user (a server's TLS key must be its own, mode 0600). */
export function ownByPostgres(file: string, mode = 0o600): void {
  if (AS_ROOT) chownSync(file, postgresUid(), postgresGid())
  chmodSync(file, mode)
}
