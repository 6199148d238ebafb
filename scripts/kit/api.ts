/** The few public API calls every harness makes before it drives load: a user, a token, accounts. */
import { randomBytes } from 'node:crypto'

/** Registers a fresh user, logs in, and opens `accounts` EUR accounts. */
export async function signUp(
  baseUrl: string,
  accounts: number,
): Promise<{ token: string; accountIds: string[] }> {
  const email = `drill-${randomBytes(4).toString('hex')}@example.com`
  const password = 'drill drill drill drill'
  await call(baseUrl, 'POST', '/v1/auth/register', { email, password, name: 'Drill' }, 201)
  const { token } = await call(baseUrl, 'POST', '/v1/auth/login', { email, password }, 200)
  const accountIds: string[] = []
  for (let i = 0; i < accounts; i++) {
    const { account } = await call(
      baseUrl,
      'POST',
      '/v1/accounts',
      { currency: 'EUR', name: `drill ${i}` },
      201,
      token,
    )
    accountIds.push(account.id)
  }
  return { token, accountIds }
}

/** One API call that must answer `expected`; returns the parsed body. */
export async function call<T = { token: string; account: { id: string } }>(
  baseUrl: string,
  method: string,
  path: string,
  body: unknown,
  expected: number,
  token?: string,
  idempotencyKey?: string,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  if (res.status !== expected)
    throw new Error(`${method} ${path}: expected ${expected}, got ${res.status} ${text}`)
  return JSON.parse(text) as T
}
