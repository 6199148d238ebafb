/** Exit codes, distinct so automation can tell "nothing was changed" from "left half-done". */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  /** Preflight refused: nothing in AWS was changed. */
  refused: 3,
  /** A step failed after changes were made: read the printed state and next steps. */
  failedMidway: 4,
} as const

/** Raised when the operator's arguments are invalid. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** Raised when preflight checks refuse to start a promotion. */
export class PreflightRefused extends Error {
  override name = 'PreflightRefused'
}

/** Raised when a promotion step fails after earlier steps changed AWS state. */
export class StepFailed extends Error {
  override name = 'StepFailed'
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly stateLeft: string,
    readonly nextSteps: string[],
  ) {
    super(`step "${step}" failed: ${describeError(cause)}`)
  }
}

/** One line for an AWS SDK or plain error: its code and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.name && !error.message.startsWith(error.name)
      ? `${error.name}: ${error.message}`
      : error.message
  }
  return String(error)
}
