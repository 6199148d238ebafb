/**
 * Entry point: configuration from the environment, listen, and a bounded graceful shutdown.
 * Run it with the telemetry preload so instrumentations load first:
 * `node --import ./dist/src/telemetry/register.js dist/src/server.js`.
 */
import { buildServer, flushLogs } from './build.js'
import { ConfigError, loadConfig } from './config.js'
import { shutdownTelemetry } from './telemetry/lifecycle.js'

// How long an exit waits for buffered log lines; the shutdown deadline plus this stays inside
// ECS's 30 s stop timeout at the default deadline.
const LOG_FLUSH_MS = 1000

async function main() {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(1)
    }
    throw err
  }

  const app = await buildServer(config)

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: draining in-flight requests')
    // Leave before the orchestrator's SIGKILL (ECS waits 30 s), even if something hangs.
    // The last lines leave before the process does, or are given up on a stalled stdout.
    const exit = (code: number) => void flushLogs(app.log, LOG_FLUSH_MS).finally(() => process.exit(code))
    const deadline = setTimeout(() => {
      app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline reached; exiting')
      exit(1)
    }, config.shutdownTimeoutMs)
    deadline.unref()
    try {
      await app.close()
      // Spans and metrics of the last requests, before the process is gone.
      await shutdownTelemetry()
      app.log.info('shutdown complete')
      exit(0)
    } catch (err) {
      app.log.error({ err }, 'error during shutdown')
      exit(1)
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))

  const address = await app.listen({ host: config.host, port: config.port })
  app.log.info({ address }, `listening on ${address}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
