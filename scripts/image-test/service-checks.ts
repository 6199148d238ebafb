/** What the started image is checked against: its own database, a Redis key prefix, real HTTP. */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import pg from 'pg'

/** A database made for one run; `drop()` removes it even while the service still holds connections. */
export interface ScratchDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

/** Creates an empty database on the server (MIGRATION_SERVER_URL-style admin URL). */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `image_test_${Date.now()}_${randomBytes(3).toString('hex')}`
  await adminQuery(serverUrl, `CREATE DATABASE "${name}"`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  let dropped = false
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return
      dropped = true
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    },
  }
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** Migrations recorded as finished in the database's history table. */
export async function appliedMigrations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    const { rows } = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name',
    )
    return rows.map((r) => r.migration_name)
  } finally {
    await client.end()
  }
}

/** Deletes every Redis key under a prefix; returns how many went. */
export async function clearRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 })
  await redis.connect()
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) deleted += await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
  return deleted
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Polls GET url until it answers 200; stops early when `gone()` reports the process has exited. */
export async function waitForOk(
  url: string,
  timeoutMs: number,
  gone: () => boolean,
): Promise<{ ms: number; body: unknown }> {
  const started = Date.now()
  let last = 'no answer'
  while (Date.now() - started < timeoutMs) {
    if (gone()) throw new Error(`the process exited before ${url} answered (last: ${last})`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      const text = await res.text()
      if (res.status === 200) return { ms: Date.now() - started, body: parse(text) }
      last = `${res.status} ${text.slice(0, 200)}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`)
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** What the API round trip proved, for the report. */
export interface ApiCheck {
  email: string
  userId: string
  steps: string[]
}

/** Registers a fresh user, logs in, and reads the profile back with the session token. */
export async function registerAndLogin(baseUrl: string): Promise<ApiCheck> {
  const email = `image-test-${randomBytes(6).toString('hex')}@example.com`
  const password = `image test ${randomBytes(9).toString('base64url')}`
  const steps: string[] = []
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (token) headers.authorization = `Bearer ${token}`
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    })
    const json = parse(await res.text()) as Record<string, unknown>
    steps.push(`${method} ${path} -> ${res.status}`)
    return { status: res.status, json }
  }
  const expect = (ok: boolean, what: string, detail: unknown) => {
    if (!ok) throw new Error(`${what}: ${JSON.stringify(detail).slice(0, 300)}`)
  }

  const registered = await call('POST', '/v1/auth/register', { email, password, name: 'Image Test' })
  expect(registered.status === 201, 'register did not answer 201', registered.json)
  const user = registered.json.user as { id?: string; email?: string } | undefined
  expect(
    user?.email === email && typeof user.id === 'string',
    'register did not return the new user',
    registered.json,
  )

  const login = await call('POST', '/v1/auth/login', { email, password })
  expect(
    login.status === 200 && typeof login.json.token === 'string',
    'login did not return a token',
    login.json,
  )

  const wrong = await call('POST', '/v1/auth/login', { email, password: `${password}x` })
  expect(wrong.status === 401, 'login with a wrong password was not refused with 401', wrong.json)

  const me = await call('GET', '/v1/me', undefined, login.json.token as string)
  expect(
    me.status === 200 && me.json.email === email,
    'GET /v1/me did not return the logged-in user',
    me.json,
  )
  return { email, userId: String(user?.id), steps }
}
