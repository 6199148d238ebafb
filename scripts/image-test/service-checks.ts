/** What the started image is checked against: its own database, a Redis key prefix, real HTTP. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

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
