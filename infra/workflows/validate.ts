// CLI: `npm run workflows:check` validates .github/workflows offline; exits 1 on any finding.
import { lintWorkflowDir } from './lint.js'

const dir = process.argv[2] ?? '.github/workflows'
const { files, findings } = await lintWorkflowDir(dir)
const lines = findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
lines.push(`${files.length} workflow file(s) in ${dir}, ${findings.length} finding(s)`)
const failed = findings.length > 0 || files.length === 0
// The Go runtime inside the WebAssembly module keeps the event loop alive, so exit explicitly, but
// only once stdout has flushed (a pipe would otherwise lose the report).
process.stdout.write(`${lines.join('\n')}\n`, () => process.exit(failed ? 1 : 0))
