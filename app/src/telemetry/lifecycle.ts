/**
 * The hand-off between the preload that starts telemetry and the server that stops it: the
 * server flushes pending spans and metrics before it exits, without importing the SDK (which is
 * never loaded when telemetry is off).
 */

let flush: (() => Promise<void>) | undefined

/** Called by the SDK setup with its shutdown. */
export function onTelemetryShutdown(fn: () => Promise<void>): void {
  flush = fn
}

/** Exports what is pending and stops the SDK; a no-op when telemetry is off. Never throws. */
export async function shutdownTelemetry(): Promise<void> {
  const fn = flush
  flush = undefined
  await fn?.().catch(() => {})
}
