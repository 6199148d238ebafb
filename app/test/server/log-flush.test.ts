import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'

const fixture = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/log-then-exit.ts')

/** Runs the fixture with stdout on a pipe, as under a log driver. */
function run(lines: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, LINES: String(lines) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
    })
    child.on('close', (code) => done({ stdout, stderr, code }))
  })
}

describe('the exit flush of buffered log lines', function () {
  this.timeout(60_000)

  // A flush begun while a write is in flight used to report when that write landed, with the
  // last lines still buffered, and then discard them: "shutdown complete" went missing.
  for (const lines of [0, 1, 40, 200, 2000]) {
    it(`writes every line before exiting, to a pipe (${lines} lines before the last)`, async () => {
      const { stdout, stderr, code } = await run(lines)
      expect(code).to.equal(0)
      expect(stderr).to.include('flushed=true')
      const written = stdout.trimEnd().split('\n')
      expect(written).to.have.length(lines + 1)
      expect(JSON.parse(written.at(-1) as string).msg).to.equal('last line')
    })
  }
})
