/**
 * The service as a real child process: the same entry point production runs (app/src/server.ts
 * through tsx, or the compiled app/dist/src/server.js as the image runs it), on a port of its
 * own, with its output kept for failure reports and, on request, an IPC channel to code preloaded
 * into it (the benchmark's round-trip probe).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitForOk } from './net.js'

/** The repository root: where `app/src/server.ts` is found. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const ENTRY = 'app/src/server.ts'
// What `npm run build -w app` writes and the image's CMD runs.
const DIST_ENTRY = 'app/dist/src/server.js'
// A service logging every request would grow this without bound; the tail is what a report shows.
const MAX_OUTPUT = 4 * 1024 * 1024

/** How a service process is started and when it counts as up. */
export interface ServiceStartOptions {
  /** The service's environment (PATH and HOME are added); HOST is 127.0.0.1 unless given. */
  env: Record<string, string | undefined>
  /** Listen port; 0 lets the kernel pick one and the URL is read from the "listening on" log line. */
  port?: number
  /** `listening`: the socket is bound; `ready`: GET /health/ready answered 200. @default 'ready' */
  waitFor?: 'listening' | 'ready'
  /** @default 60000 */
  timeoutMs?: number
  /** Node flags before the entry point (the telemetry preload). */
  nodeArgs?: string[]
  /**
   * `source`: `node --import tsx app/src/server.ts`; `dist`: `node app/dist/src/server.js` (run
   * `npm run build` first) with NODE_ENV=production unless `env` says otherwise. A `.ts` preload
   * in `nodeArgs` then needs its own `--import tsx` before it. @default 'source'
   */
  build?: 'source' | 'dist'
  /** Opens an IPC channel: `child.send()` and `child.on('message')` reach `process` in the service. */
  ipc?: boolean
}

/** The node command line and environment of one service process. */
function spawnService(opts: Pick<ServiceStartOptions, 'env' | 'nodeArgs' | 'build' | 'ipc'>): ChildProcess {
  const dist = opts.build === 'dist'
  const args = dist
    ? [...(opts.nodeArgs ?? []), DIST_ENTRY]
    : ['--import', 'tsx', ...(opts.nodeArgs ?? []), ENTRY]
  return spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // Throwaway local instances: production without a seed key, by the explicit opt-out.
      ...(dist ? { NODE_ENV: 'production', MFA_ENCRYPTION_OPTIONAL: 'true' } : {}),
      ...opts.env,
    } as NodeJS.ProcessEnv,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  })
}

/** How the process ended. */
export interface ServiceExit {
  code: number | null
  signal: NodeJS.Signals | null
  at: number
}

/** A running service instance; `stop()` is safe to call more than once. */
export class ServiceProcess {
  readonly exited: Promise<ServiceExit>
  private text = ''
  private ended = false

  private constructor(
    readonly child: ChildProcess,
    public url: string,
  ) {
    // 'close', not 'exit': the last lines written before exiting may still be in the pipe at 'exit'.
    this.exited = new Promise((done) =>
      child.on('close', (code, signal) => {
        this.ended = true
        done({ code, signal, at: Date.now() })
      }),
    )
    const keep = (chunk: Buffer) => {
      this.text += chunk.toString()
      if (this.text.length > MAX_OUTPUT) this.text = this.text.slice(-MAX_OUTPUT / 2)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
  }

  /** Starts the service and resolves once it is up (see {@link ServiceStartOptions.waitFor}). */
  static async start(opts: ServiceStartOptions): Promise<ServiceProcess> {
    const port = opts.port ?? 0
    const child = spawnService({
      ...opts,
      env: {
        HOST: '127.0.0.1',
        // V8's code cache across starts: a harness boots the same code many times.
        NODE_COMPILE_CACHE: join(tmpdir(), 'blueprint-node-compile-cache'),
        ...opts.env,
        PORT: String(port),
      },
    })
    const service = new ServiceProcess(child, port ? `http://127.0.0.1:${port}` : '')
    const timeoutMs = opts.timeoutMs ?? 60_000
    try {
      if (!port) service.url = await service.listeningUrl(timeoutMs)
      if ((opts.waitFor ?? 'ready') === 'ready')
        await waitForOk(`${service.url}/health/ready`, timeoutMs, () => service.ended)
      return service
    } catch (err) {
      await service.stop()
      throw new Error(`${(err as Error).message}\n${service.tail()}`)
    }
  }

  /** Runs the entry point to completion (boot failures) and returns its exit code and output. */
  static async runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const child = spawnService({ env })
    const service = new ServiceProcess(child, '')
    const { code } = await service.exited
    return { code, output: service.output() }
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get running(): boolean {
    return !this.ended
  }

  /** Everything the process wrote to stdout and stderr (the newest 2-4 MB of it). */
  output(): string {
    return this.text
  }

  /** Output lines, oldest first. */
  get logs(): string[] {
    return this.text.split('\n').filter(Boolean)
  }

  /** The last log lines, for failure reports. */
  tail(n = 30): string {
    return this.logs.slice(-n).join('\n')
  }

  /** Sends a signal without waiting (SIGKILL is the crash scenario). */
  kill(signal: NodeJS.Signals): void {
    if (!this.ended) this.child.kill(signal)
  }

  /** SIGTERM, then SIGKILL if it has not left within `graceMs`; resolves when it has exited. */
  async stop(graceMs = 5000): Promise<ServiceExit> {
    if (!this.ended) {
      this.child.kill('SIGTERM')
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
      await this.exited
      clearTimeout(timer)
    }
    return this.exited
  }

  private listeningUrl(timeoutMs: number): Promise<string> {
    return new Promise((done, reject) => {
      const timer = setTimeout(() => reject(new Error('service did not start')), timeoutMs)
      const onData = () => {
        const match = /listening on (http:\/\/[\d.:]+)/.exec(this.text)
        if (!match) return
        clearTimeout(timer)
        this.child.stdout?.off('data', onData)
        done(match[1] as string)
      }
      this.child.stdout?.on('data', onData)
      void this.exited.then(() => {
        clearTimeout(timer)
        reject(new Error('service exited before listening'))
      })
    })
  }
}
