/** The few public API calls every harness makes before it drives load: a user, a token, accounts. */
import { randomBytes } from 'node:crypto'
import { SIGNATURE_HEADER, signFunding } from '../../app/src/features/accounts/funding-signature.js'

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

// A harness's setup is a client like any other: a 503 with Retry-After (a fresh instance shedding
// while a busy CI machine lags its event loop) is retried as the API asks, a few times.
const SETUP_ATTEMPTS = 5

/**
 * One API call that must answer `expected`; returns the parsed body. A 503 that carries
 * Retry-After is retried after that delay (at most 5 attempts) unless 503 is what is expected.
 */
export async function call<T = { token: string; account: { id: string } }>(
  baseUrl: string,
  method: string,
  path: string,
  body: unknown,
  expected: number,
  token?: string,
  idempotencyKey?: string,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
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
    if (res.status === expected) return JSON.parse(text) as T
    const retryAfter = Number(res.headers.get('retry-after'))
    if (res.status === 503 && expected !== 503 && retryAfter > 0 && attempt < SETUP_ATTEMPTS) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfter, 5) * 1000))
      continue
    }
    throw new Error(`${method} ${path}: expected ${expected}, got ${res.status} ${text}`)
  }
}

/**
 * The two users a steady workload needs: a writer with `accounts` accounts, and a reader with one
 * funding to read, who never writes during the run (so read-your-writes does not pin it to the writer).
 * Money only enters through the signed funding webhook, so the service's FUNDING_WEBHOOK_SECRET is needed.
 */
export async function writerAndReader(
  baseUrl: string,
  accounts: number,
  fundingSecret: string,
): Promise<{
  writer: { token: string; accountIds: string[] }
  reader: { token: string; accountIds: string[] }
}> {
  const writer = await signUp(baseUrl, accounts)
  const reader = await signUp(baseUrl, 1)
  await fund(baseUrl, fundingSecret, reader.accountIds[0] as string, '1')
  return { writer, reader }
}

/** Credits `amount` minor units of EUR to an account as a payment provider would: a signed webhook event. */
export async function fund(
  baseUrl: string,
  secret: string,
  accountId: string,
  amount: string,
): Promise<void> {
  const body = JSON.stringify({
    id: `kit-${randomBytes(8).toString('hex')}`,
    type: 'funding.succeeded',
    accountId,
    amount,
    currency: 'EUR',
  })
  const res = await fetch(`${baseUrl}/v1/funding/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signFunding(secret, body, Math.floor(Date.now() / 1000)),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  })
  if (res.status !== 201) throw new Error(`funding: expected 201, got ${res.status} ${await res.text()}`)
}
