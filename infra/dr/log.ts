import type { Clock } from './clock.js'

/** Where the command writes: stdout/stderr in the CLI, arrays in tests. */
export interface Output {
  out(line: string): void
  err(line: string): void
}

/** The process streams. */
export const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

/** Timestamped operator log: every line carries the ISO time so a drill can be reconstructed later. */
export class StepLog {
  constructor(
    private readonly output: Output,
    private readonly clock: Clock,
  ) {}

  /** One timestamped line. */
  info(message: string): void {
    this.output.out(`${this.clock.now().toISOString()}  ${message}`)
  }

  /** One timestamped warning line. */
  warn(message: string): void {
    this.output.out(`${this.clock.now().toISOString()}  WARN ${message}`)
  }

  /** Runs a named step, logging its start, end and duration; failures are logged and rethrown. */
  async step<T>(name: string, run: () => Promise<T>): Promise<T> {
    const started = this.clock.now()
    this.info(`>> ${name}`)
    try {
      const result = await run()
      this.info(`ok ${name} (${formatDuration(this.clock.now().getTime() - started.getTime())})`)
      return result
    } catch (error) {
      this.info(`FAILED ${name} after ${formatDuration(this.clock.now().getTime() - started.getTime())}`)
      throw error
    }
  }
}

/** `2m 05s`-style duration for operators; milliseconds only under a second. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`
  const total = Math.round(ms / 1000)
  const minutes = Math.floor(total / 60)
  const seconds = total % 60
  return minutes ? `${minutes}m ${String(seconds).padStart(2, '0')}s` : `${seconds}s`
}
