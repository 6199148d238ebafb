import { spawn, spawnSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import pg from 'pg'
import { services } from '../helpers/services.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

const harnessArgs = (spec: string) => [
  'node_modules/mocha/bin/mocha.js',
  '--no-config',
  '--node-option',
  'import=tsx',
  '--require',
  'app/test/helpers/setup.ts',
  '--timeout',
  '30000',
  spec,
]

/** Runs mocha with only the root hooks and a no-op spec, against the given services. */
function runHarness(env: Record<string, string>) {
  const started = Date.now()
  const result = spawnSync(process.execPath, harnessArgs('app/test/fixtures/noop.spec.ts'), {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
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

  it('lets two runs at once each work in their own database and Redis namespace, and removes both', async () => {
    const runOnce = () =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, harnessArgs('app/test/fixtures/isolation.spec.ts'), {
          cwd: root,
        })
        let output = ''
        child.stdout.on('data', (d) => {
          output += d
        })
        child.stderr.on('data', (d) => {
          output += d
        })
        child.on('exit', (code) => resolve({ code, output }))
      })
    const runs = await Promise.all([runOnce(), runOnce()])
    for (const run of runs) expect(run.code, run.output).to.equal(0)
    const names = runs.map((r) => /ISOLATED (\S+)/.exec(r.output)?.[1])
    expect(names[0]).to.be.a('string')
    expect(names[0]).not.to.equal(names[1])
    const admin = new pg.Client({ connectionString: services.adminUrl })
    await admin.connect()
    try {
      const { rows } = await admin.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names])
      expect(rows, 'databases dropped after the runs').to.deep.equal([])
    } finally {
      await admin.end()
    }
  })
})
