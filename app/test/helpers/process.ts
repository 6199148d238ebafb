/** Runs the real server entry point (app/src/server.ts) as a child process on a free port. */
import { ServiceProcess } from '../../../scripts/kit/service.js'
import { testEnv } from './app.js'

/** A running server process with its captured output (the kit's {@link ServiceProcess}). */
export type ServerProcess = ServiceProcess

/** Starts `node --import tsx app/src/server.ts` and resolves once it prints where it listens. */
export function startServer(
  overrides: Record<string, string | undefined> = {},
  base: Record<string, string | undefined> = testEnv(),
): Promise<ServerProcess> {
  return ServiceProcess.start({ env: { ...base, LOG_LEVEL: 'info', ...overrides }, waitFor: 'listening' })
}

/** Runs the entry point to completion (for boot failures). */
export function runServerToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return ServiceProcess.runToExit(env)
}
