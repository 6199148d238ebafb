/**
 * Seeded users and the routes the benchmark drives, with the request each one sends. Every
 * request goes to the service's 127.0.0.1 address only.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { SIGNATURE_HEADER, signFunding } from '../../app/src/features/accounts/funding-signature.js'

/** The bench service's funding webhook secret (a local, throwaway instance). */
export const BENCH_FUNDING_SECRET = 'bench-funding-webhook-secret-0123456789'

const PASSWORD = 'bench horse battery staple'
const WORDS = ['coffee', 'rent', 'groceries', 'salary', 'train', 'books', 'dinner', 'refund']

/** A signed-in seeded user with one funded EUR account. */
export interface BenchUser {
  email: string
  token: string
  accountId: string
}

/** One HTTP request as autocannon sends it. */
export interface BenchRequest {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

/** A route under load: its label, its share of the traffic, and how to build each request. */
export interface RouteSpec {
  name: string
  /** Share of the total rate (relative weight). */
  weight: number
  build: (users: readonly BenchUser[], seq: number) => BenchRequest
}

const json = { 'content-type': 'application/json' }
const bearer = (u: BenchUser) => ({ authorization: `Bearer ${u.token}` })
const pick = <T>(items: readonly T[], seq: number) => items[seq % items.length] as T

/** A withdrawal or a transfer to the next user (alternating), each under a fresh Idempotency-Key. */
export function transactionRequest(users: readonly BenchUser[], seq: number): BenchRequest {
  const from = pick(users, seq)
  const to = pick(users, seq + 1)
  const transfer = seq % 2 === 1 && users.length > 1
  const body = transfer
    ? {
        type: 'transfer',
        amount: '125',
        currency: 'EUR',
        fromAccountId: from.accountId,
        toAccountId: to.accountId,
      }
    : { type: 'withdrawal', amount: '100', currency: 'EUR', fromAccountId: from.accountId }
  return {
    method: 'POST',
    path: '/v1/transactions',
    headers: { ...json, ...bearer(from), 'idempotency-key': randomUUID() },
    body: JSON.stringify({ ...body, description: `bench ${pick(WORDS, seq)} ${seq}` }),
  }
}

/** The routes of the mixed workload; search and reports are included when the service has them. */
export const ROUTES: RouteSpec[] = [
  {
    name: 'GET /health/ready',
    weight: 4,
    build: () => ({ method: 'GET', path: '/health/ready', headers: {} }),
  },
  {
    name: 'GET /v1/me',
    weight: 6,
    build: (users, seq) => ({ method: 'GET', path: '/v1/me', headers: bearer(pick(users, seq)) }),
  },
  {
    name: 'POST /v1/auth/login',
    weight: 1,
    build: (users, seq) => ({
      method: 'POST',
      path: '/v1/auth/login',
      headers: json,
      body: JSON.stringify({ email: pick(users, seq).email, password: PASSWORD }),
    }),
  },
  { name: 'POST /v1/transactions', weight: 6, build: transactionRequest },
  {
    name: 'GET /v1/transactions',
    weight: 6,
    build: (users, seq) => ({
      method: 'GET',
      path: '/v1/transactions?limit=20',
      headers: bearer(pick(users, seq)),
    }),
  },
  {
    name: 'GET /v1/search',
    weight: 4,
    build: (users, seq) => ({
      method: 'GET',
      path: `/v1/search?q=${pick(WORDS, seq)}&limit=20`,
      headers: bearer(pick(users, seq)),
    }),
  },
  {
    name: 'GET /v1/reports/summary',
    weight: 3,
    build: (users, seq) => ({
      method: 'GET',
      path: '/v1/reports/summary?granularity=day',
      headers: bearer(pick(users, seq)),
    }),
  },
]

/** Sends one request with fetch and returns status and parsed JSON body. */
export async function send(baseUrl: string, req: BenchRequest): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}

async function expectStatus(
  baseUrl: string,
  req: BenchRequest,
  status: number,
): Promise<Record<string, unknown>> {
  let res = await send(baseUrl, req)
  // A shed request (503 + Retry-After) is retried like a well-behaved client would.
  for (let attempt = 0; res.status === 503 && attempt < 20; attempt++) {
    await new Promise((r) => setTimeout(r, 250))
    res = await send(baseUrl, req)
  }
  if (res.status !== status) {
    throw new Error(`seeding: ${req.method} ${req.path} answered ${res.status}: ${JSON.stringify(res.body)}`)
  }
  return res.body as Record<string, unknown>
}

/**
 * Seeds `count` signed-in users with a funded account. The first registers through the API; the
 * others are copied from it in SQL with the same password hash, since each API registration costs a
 * production-strength hash and measures nothing new.
 * Every user then signs in, opens an account and deposits through the API, `parallel` at a time.
 */
export async function seedUsers(
  baseUrl: string,
  databaseUrl: string,
  count: number,
  tag: string,
  parallel = 4,
): Promise<BenchUser[]> {
  const emails = Array.from({ length: count }, (_, i) => `bench-${tag}-${i}@example.com`)
  const first = emails[0] as string
  await expectStatus(
    baseUrl,
    {
      method: 'POST',
      path: '/v1/auth/register',
      headers: json,
      body: JSON.stringify({ email: first, password: PASSWORD, name: 'Bench 0' }),
    },
    201,
  )
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    await db.query(
      `INSERT INTO users (email, password_hash, name, updated_at)
       SELECT e, u.password_hash, 'Bench ' || e, now() FROM users u, unnest($2::text[]) AS e WHERE u.email = $1`,
      [first, emails.slice(1)],
    )
  } finally {
    await db.end()
  }

  const users: BenchUser[] = []
  const one = async (i: number) => {
    const email = emails[i] as string
    const login = await expectStatus(
      baseUrl,
      {
        method: 'POST',
        path: '/v1/auth/login',
        headers: json,
        body: JSON.stringify({ email, password: PASSWORD }),
      },
      200,
    )
    const token = login.token as string
    const auth = { ...json, authorization: `Bearer ${token}` }
    const account = await expectStatus(
      baseUrl,
      {
        method: 'POST',
        path: '/v1/accounts',
        headers: auth,
        body: JSON.stringify({ currency: 'EUR', name: 'main' }),
      },
      201,
    )
    const accountId = (account.account as { id: string }).id
    const opening = JSON.stringify({
      id: `bench-${randomUUID()}`,
      type: 'funding.succeeded',
      accountId,
      amount: '100000000',
      currency: 'EUR',
      description: 'bench opening salary',
    })
    await expectStatus(
      baseUrl,
      {
        method: 'POST',
        path: '/v1/funding/webhook',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signFunding(BENCH_FUNDING_SECRET, opening, Math.floor(Date.now() / 1000)),
        },
        body: opening,
      },
      201,
    )
    users[i] = { email, token, accountId }
  }
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, k) => one(start + k)))
  }
  return users
}
