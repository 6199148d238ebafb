/** Time source and sleep, injected so tests of long waits run instantly. */
export interface Clock {
  now(): Date
  sleep(ms: number): Promise<void>
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}
