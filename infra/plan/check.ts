// `npm run plan:check`: the offline model over both stacks; prints the flows table, the region-loss list and
// every other check, and exits 1 when any fails. No AWS account needed (docs/offline-model.md).
import { report, runChecks } from './checks/index.js'

// Pulumi captures a stack trace per internal promise; without source maps that is cheap.
;(Error as unknown as { prepareStackTrace?: unknown }).prepareStackTrace = undefined
process.setSourceMapsEnabled(false)

const started = Date.now()
const sections = await runChecks()
console.log(report(sections))
const failed = sections.filter((s) => !s.ok).map((s) => s.name)
console.log(
  `${failed.length ? `FAILED: ${failed.join(', ')}` : 'all checks passed'} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
)
process.exit(failed.length ? 1 : 0)
