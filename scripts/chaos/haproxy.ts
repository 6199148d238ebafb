/**
 * Debian's haproxy as the stand-in for the ALB: the same idle timeout, a health check on
 * /health/ready, and deregistration as "drain" through its runtime API (a Unix socket).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitUntil } from '../kit/net.js'

/** Health-check and timeout settings; the defaults mirror infra/src/ingress.ts, scaled in time. */
export interface BalancerOptions {
  /** Instance ports, one server slot each. */
  ports: number[]
  /** The ALB's idle timeout (infra/src/ingress.ts). @default 60 */
  idleTimeoutSeconds?: number
  /**
   * Health-check interval. The ALB checks every 15 s (2 to be healthy, 3 to be unhealthy); a local
   * run keeps the thresholds and shortens the interval so a scenario takes seconds, not minutes.
   * @default 250
   */
  checkIntervalMs?: number
}

/** One server slot as the runtime API reports it. */
export interface ServerState {
  name: string
  /** UP, DOWN, DRAIN, MAINT... */
  status: string
  /** Connections open to the server now. */
  current: number
}

/** A running haproxy with one backend `app` of server slots s0..sN-1. */
export class Balancer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly socket: string,
    readonly url: string,
    private readonly log: () => string,
  ) {}

  /** Writes the configuration, starts haproxy in the foreground and waits until every slot is UP. */
  static async start(opts: BalancerOptions): Promise<Balancer> {
    const dir = mkdtempSync(join(tmpdir(), 'blueprint-haproxy-'))
    const socket = join(dir, 'admin.sock')
    const port = await freePort()
    const config = join(dir, 'haproxy.cfg')
    writeFileSync(config, configText({ ...opts, socket, port }))
    const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d) => {
      output += d
    })
    child.stderr?.on('data', (d) => {
      output += d
    })
    const balancer = new Balancer(child, dir, socket, `http://127.0.0.1:${port}`, () => output)
    try {
      await waitUntil('haproxy: every server UP', 15_000, async () =>
        (await balancer.servers()).every((s) => s.status === 'UP'),
      )
    } catch (err) {
      await balancer.stop()
      throw new Error(`${(err as Error).message}\n${output}`)
    }
    return balancer
  }

  /** Sends one runtime API command and returns its answer. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const conn = createConnection(this.socket)
      let answer = ''
      conn.on('data', (d) => {
        answer += d
      })
      conn.on('error', reject)
      conn.on('end', () => resolve(answer))
      conn.write(`${line}\n`)
    })
  }

  /** Server slots with their health status and open connections (`show stat`). */
  async servers(): Promise<ServerState[]> {
    const csv = await this.command('show stat')
    const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n')
    const cols = (header ?? '').split(',')
    const at = (name: string) => cols.indexOf(name)
    return rows
      .map((r) => r.split(','))
      .filter((c) => c[at('pxname')] === 'app' && /^s\d+$/.test(c[at('svname')] ?? ''))
      .map((c) => ({
        name: c[at('svname')] as string,
        status: (c[at('status')] ?? '').split(' ')[0] as string,
        current: Number(c[at('scur')]),
      }))
  }

  /** Deregistration: no new requests to the slot; what it is serving finishes. Resolves when idle. */
  async drain(slot: number, timeoutMs = 10_000): Promise<void> {
    await this.command(`set server app/s${slot} state drain`)
    await waitUntil(`s${slot} drained`, timeoutMs, async () => {
      const server = (await this.servers()).find((s) => s.name === `s${slot}`)
      return server?.current === 0
    })
  }

  /** Points a slot at a new instance and puts it back in service once its health check passes. */
  async register(slot: number, port: number, timeoutMs = 15_000): Promise<void> {
    await this.command(`set server app/s${slot} addr 127.0.0.1 port ${port}`)
    await this.command(`set server app/s${slot} state ready`)
    await waitUntil(`s${slot} UP on port ${port}`, timeoutMs, async () => {
      const server = (await this.servers()).find((s) => s.name === `s${slot}`)
      return server?.status === 'UP'
    })
  }

  /** haproxy's own output (configuration warnings, server state changes). */
  output(): string {
    return this.log()
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r))
      this.child.kill('SIGTERM')
      await gone
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function configText(o: BalancerOptions & { socket: string; port: number }): string {
  const idle = `${o.idleTimeoutSeconds ?? 60}s`
  const inter = o.checkIntervalMs ?? 250
  return `# written by scripts/chaos: the ALB of infra/src/ingress.ts on loopback
global
  stats socket ${o.socket} mode 600 level admin
  maxconn 4096

defaults
  mode http
  # the ALB's idle timeout, both sides; the service keeps connections open longer (KEEP_ALIVE_TIMEOUT_MS
  # 65 s), so the balancer, never the service, closes an idle connection it might reuse
  timeout client ${idle}
  timeout server ${idle}
  timeout http-keep-alive ${idle}
  timeout connect 1s
  # a request never delivered (connection refused) goes to another server; a delivered one is never replayed
  retries 2
  option redispatch 1

frontend web
  bind 127.0.0.1:${o.port}
  default_backend app

backend app
  balance roundrobin
  http-reuse safe
  option httpchk GET /health/ready
  http-check expect status 200
  # ALB: healthy after 2 passes, unhealthy after 3 failures
  default-server check inter ${inter} fastinter ${inter} downinter ${inter} rise 2 fall 3
${o.ports.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join('\n')}
`
}
