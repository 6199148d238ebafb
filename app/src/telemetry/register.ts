/**
 * Preload entry: `node --import ./dist/src/telemetry/register.js dist/src/server.js`. Starts
 * OpenTelemetry before any instrumented module loads (instrumentations patch modules as they are
 * loaded). Without an OTLP endpoint, or with OTEL_SDK_DISABLED=true, it loads nothing else.
 */
import { disabledReason, telemetryDefaults } from './settings.js'

if (disabledReason(process.env) === undefined) {
  // The SDK reads its settings from the environment; ours fill in only what is unset.
  Object.assign(process.env, telemetryDefaults(process.env))
  // The service is ESM: its imports of pg, ioredis and the AWS SDK are hooked in-thread for
  // the instrumented packages only (hooking every module would slow the boot down).
  const { register } = await import('import-in-the-middle/register-hooks.mjs')
  register({
    include: ['pg', 'pg-pool', 'ioredis', /@aws-sdk\/.*/, /@smithy\/.*/],
  })
  const { startSdk } = await import('./sdk.js')
  await startSdk()
}
