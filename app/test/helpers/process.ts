/** Runs the real server entry point (app/src/server.ts) as a child process on a free port. */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testEnv } from './app.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** A running server process with its captured output. */
export interface ServerProcess {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/** Starts `node --import tsx app/src/server.ts` and resolves once it prints where it listens. */
export async function startServer(
  overrides: Record<string, string | undefined> = {},
  base: Record<string, string | undefined> = testEnv(),
  /** Extra node flags before the entry point (the telemetry preload). */
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...base,
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    ...overrides,
  }
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'app/src/server.ts'], {
    cwd: root,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => {
    output += d
  })
  child.stderr?.on('data', (d) => {
    output += d
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000)
    const onData = () => {
      const match = /listening on (http:\/\/[\d.:]+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        resolve(match[1] as string)
      }
    }
    child.stdout?.on('data', onData)
    exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`server exited before listening:\n${output}`))
    })
  })
  return { child, url, output: () => output, exited }
}

/** Runs the entry point to completion (for boot failures). */
export function runServerToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => {
    output += d
  })
  child.stderr.on('data', (d) => {
    output += d
  })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })))
}
