/**
 * The service as a real child process: the same entry point production runs (app/src/server.ts),
 * on a port of its own, with its output kept for failure reports.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitForOk } from './net.js'

/** The repository root: where `app/src/server.ts` is found. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const ENTRY = ['--import', 'tsx', 'app/src/server.ts']
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
    this.exited = new Promise((done) =>
      child.on('exit', (code, signal) => {
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
    const child = spawn(process.execPath, ENTRY, {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        ...opts.env,
        PORT: String(port),
      } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
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
    const child = spawn(process.execPath, ENTRY, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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
