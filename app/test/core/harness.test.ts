import { spawnSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Runs mocha with only the root hooks and a no-op spec, against the given services. */
function runHarness(env: Record<string, string>) {
  const started = Date.now()
  const result = spawnSync(
    process.execPath,
    [
      'node_modules/mocha/bin/mocha.js',
      '--no-config',
      '--node-option',
      'import=tsx',
      '--require',
      'app/test/helpers/setup.ts',
      'app/test/fixtures/noop.spec.ts',
    ],
    { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
  )
  return { status: result.status, output: `${result.stdout}${result.stderr}`, ms: Date.now() - started }
}

describe('test harness', function () {
  this.timeout(90_000)

  it('fails fast naming PostgreSQL when it is not reachable', () => {
    const run = runHarness({ TEST_POSTGRES_URL: 'postgresql://postgres@127.0.0.1:1/postgres' })
    expect(run.status).not.to.equal(0)
    expect(run.output).to.include('PostgreSQL is not reachable at postgresql://postgres@127.0.0.1:1/postgres')
    expect(run.ms).to.be.below(20_000)
  })

  it('fails fast naming Redis when it is not reachable', () => {
    const run = runHarness({ TEST_REDIS_URL: 'redis://127.0.0.1:1' })
    expect(run.status).not.to.equal(0)
    expect(run.output).to.include('Redis is not reachable at redis://127.0.0.1:1')
    expect(run.ms).to.be.below(20_000)
  })
})
