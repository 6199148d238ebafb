/** The service as a real child process (the same entry point production runs), for the drill. */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** A running service instance; `stop()` is safe to call more than once. */
export class ServiceProcess {
  private exited = false
  readonly logs: string[] = []

  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
  ) {
    child.on('exit', () => {
      this.exited = true
    })
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        this.logs.push(line)
        if (this.logs.length > 2000) this.logs.shift()
      }
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
  }

  /** Starts `src/server.ts` with `env` and waits until `/health/ready` answers 200. */
  static async start(env: Record<string, string>, port: number, timeoutMs = 60_000): Promise<ServiceProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: appDir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const service = new ServiceProcess(child, `http://127.0.0.1:${port}`)
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (service.exited) throw new Error(`service exited during startup:\n${service.tail()}`)
      const ok = await fetch(`${service.baseUrl}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) return service
      await new Promise((r) => setTimeout(r, 200))
    }
    await service.stop()
    throw new Error(`service not ready within ${timeoutMs} ms:\n${service.tail()}`)
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get running(): boolean {
    return !this.exited
  }

  /** The last log lines, for failure reports. */
  tail(n = 30): string {
    return this.logs.slice(-n).join('\n')
  }

  /** SIGTERM, then SIGKILL if it has not left within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await gone
    clearTimeout(timer)
  }
}
