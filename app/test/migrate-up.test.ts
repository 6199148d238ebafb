// `npm run up` end to end, the local path (no Docker engine): a throwaway database name and a free
// port, then what a user does first: register, log in, read /v1/me with the cookie and the bearer
// token, log out. Stopping it must shut the server down cleanly.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { Redis } from 'ioredis'
import { freePort } from '../../scripts/kit/net.js'
import { ADMIN_URL, query } from './migrate-support.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..')
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Resolves with the first output line matching `pattern`; rejects if the process exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((done, reject) => {
    let output = ''
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}:\n${output}`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const line = output.split('\n').find((l) => pattern.test(l))
      if (line) {
        clearTimeout(timer)
        done(line)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`npm run up exited (${code}) before ${pattern}:\n${output.slice(-4000)}`))
    })
  })
}

describe('npm run up (local PostgreSQL and Redis)', function () {
  this.timeout(240_000)
  const id = `${process.pid}_${randomBytes(3).toString('hex')}`
  const database = `up_test_${id}`
  const prefix = `up-test-${id}:`
  let child: ChildProcess | undefined
  let base: string

  before(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    const databaseUrl = new URL(ADMIN_URL)
    databaseUrl.pathname = `/${database}`
    child = spawn(process.execPath, [join(repoRoot, 'scripts/up.mjs')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        UP_MODE: 'local',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const ready = await waitForLine(child, /^\[up\] ready: /, 200_000)
    expect(ready).to.contain(base)
  })

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
    await query(ADMIN_URL, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
    const redis = new Redis(redisUrl)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.del(...keys)
    await redis.quit()
  })

  it('created the database and applied every committed migration', async () => {
    const dbUrl = new URL(ADMIN_URL)
    dbUrl.pathname = `/${database}`
    const rows = await query<{ migration_name: string }>(
      dbUrl.toString(),
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
    )
    const committed = readdirSync(join(repoRoot, 'prisma/migrations'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
    expect(rows.map((r) => r.migration_name)).to.deep.equal(committed)
  })

  it('serves a working API: register, log in, /v1/me by cookie and by bearer, log out', async () => {
    expect((await fetch(`${base}/health/ready`)).status).to.equal(200)
    const email = `up-${id}@example.com`
    const password = 'a long enough passphrase'
    const json = { 'content-type': 'application/json' }

    const register = await fetch(`${base}/v1/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password, name: 'Up Test' }),
    })
    expect(register.status).to.equal(201)

    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password }),
    })
    expect(login.status).to.equal(200)
    const { token } = (await login.json()) as { token: string }
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    expect(cookie).to.match(/^[^=]+=.+/)

    const credentials: Record<string, string>[] = [{ cookie }, { authorization: `Bearer ${token}` }]
    for (const headers of credentials) {
      const me = await fetch(`${base}/v1/me`, { headers })
      expect(me.status).to.equal(200)
      expect(((await me.json()) as { email: string }).email).to.equal(email)
    }

    const logout = await fetch(`${base}/v1/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(logout.status).to.equal(204)
    expect((await fetch(`${base}/v1/me`, { headers: { cookie } })).status).to.equal(401)
  })

  it('stops cleanly on SIGTERM, taking the server with it', async () => {
    const proc = child as ChildProcess
    const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)))
    proc.kill('SIGTERM')
    expect(await exited).to.equal(0)
    const stillUp = await fetch(`${base}/health/live`).then(
      () => true,
      () => false,
    )
    expect(stillUp).to.equal(false)
  })
})
