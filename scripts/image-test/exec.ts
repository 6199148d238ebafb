/** Running host commands with a time limit, output kept for the report when they fail. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'

/** What a finished command left behind. */
export interface CommandResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Both streams interleaved as they arrived: what a failure report shows. */
  output: string
}

/** Options of one command run. */
export interface RunOptions {
  /** Killed (SIGKILL to its process group) after this long. */
  timeoutMs: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer
  /** Output also appended here (long builds), so a failure can show its tail. */
  logFile?: string
  /** Resolve instead of throwing when the exit code is not 0. */
  allowFailure?: boolean
}

/** Thrown when a command exits non-zero or runs out of time; carries the tail of its output. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
    readonly timedOut: boolean,
  ) {
    const how = timedOut ? 'timed out' : `exited ${result.code ?? result.signal}`
    const tail = tailOf(result.output, 30)
    super(`${command} ${how}${tail ? `\n${tail}` : ''}`)
    this.name = 'CommandError'
  }
}

/** The last `lines` non-empty lines of a text, indented for a report. */
export function tailOf(text: string, lines: number): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n')
}

const running = new Set<ChildProcess>()

/** Kills every command still running (used when the whole run is aborted). */
export function killAll(): void {
  for (const child of running) killGroup(child, 'SIGKILL')
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return
  try {
    // Negative pid: the whole process group, so a shell's children go too.
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal)
  }
}

/** Runs a command to completion; throws a CommandError on a non-zero exit or a timeout. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<CommandResult> {
  const command = [cmd, ...args].join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    running.add(child)
    const log: WriteStream | undefined = opts.logFile
      ? createWriteStream(opts.logFile, { flags: 'a' })
      : undefined
    log?.write(`\n$ ${command}\n`)
    let stdout = ''
    let stderr = ''
    let output = ''
    // Keep memory bounded on chatty builds: the log file has everything.
    const keep = (acc: string, chunk: Buffer) => (acc + chunk.toString()).slice(-1_000_000)
    child.stdout?.on('data', (c: Buffer) => {
      stdout = keep(stdout, c)
      output = keep(output, c)
      log?.write(c)
    })
    child.stderr?.on('data', (c: Buffer) => {
      stderr = keep(stderr, c)
      output = keep(output, c)
      log?.write(c)
    })
    if (opts.input !== undefined) child.stdin?.end(opts.input)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child, 'SIGKILL')
    }, opts.timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      running.delete(child)
      log?.end()
      reject(new Error(`${command}: ${err.message}`))
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      running.delete(child)
      log?.end()
      const result = { code, signal, stdout, stderr, output }
      if ((code === 0 && !timedOut) || (opts.allowFailure && !timedOut)) resolve(result)
      else reject(new CommandError(command, result, timedOut))
    })
  })
}

/** True when the command exists and exits 0 within a few seconds. */
export function succeeds(cmd: string, args: string[], timeoutMs = 15_000): boolean {
  const result = spawnSync(cmd, args, { stdio: 'ignore', timeout: timeoutMs })
  return result.status === 0
}

/** Absolute path of a host binary, or undefined; host tools must not resolve through an image's PATH. */
export function which(name: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  const path = result.stdout.trim()
  return result.status === 0 && path.startsWith('/') ? path : undefined
}

/** A long-running process whose output is collected, for the service under test. */
export interface Background {
  child: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts a process in the background (its own process group) and collects its output. */
export function start(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; logFile?: string },
): Background {
  const child = spawn(cmd, args, { env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined
  let output = ''
  const collect = (c: Buffer) => {
    output = (output + c.toString()).slice(-200_000)
    log?.write(c)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      output += `\n${err.message}`
      resolve({ code: null, signal: null })
    })
    child.once('close', (code, signal) => {
      running.delete(child)
      log?.end()
      resolve({ code, signal })
    })
  })
  return { child, output: () => output, exited }
}

/** Sends a signal to a background process group (no-op once it has exited). */
export function signal(bg: Background, sig: NodeJS.Signals): void {
  killGroup(bg.child, sig)
}
