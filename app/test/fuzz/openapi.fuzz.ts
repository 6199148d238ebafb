/**
 * Property-based fuzzer over every operation of the real app's OpenAPI document (GET /docs/json):
 * generated path, query, header and body values, valid, at their boundaries and hostile, sent
 * through the real app (inject) with real PostgreSQL, Redis and S3-compatible storage, as a
 * signed-in user and as nobody. Properties, for every request:
 *   1. never a 5xx;
 *   2. every 4xx carries the error shape { error: { code, message, requestId } };
 *   3. a refused write (4xx to POST/PUT/PATCH/DELETE) leaves the user's rows as they were.
 * Seeded (FUZZ_SEED, default fixed so CI is repeatable) and bounded (FUZZ_RUNS per operation).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { buildTestApp } from '../helpers/app.js'
import { fundAccount, fundingWebhook } from '../helpers/funding.js'
import { startS3, type TestS3 } from '../helpers/s3.js'
import { bearer, login } from '../helpers/users.js'
import { dbClient, openAccount } from '../transactions.support.js'
import {
  arbitraryFor,
  type Fixtures,
  HOSTILE_BODIES,
  HOSTILE_STRINGS,
  type Schema,
} from './schema-arbitrary.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261201)
const RUNS = Number(process.env.FUZZ_RUNS ?? 60)
const HOSTILITY = 0.25
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
// Streams never end under inject; these ends the session the fuzzer runs as (covered by their own specs).
const SKIPPED = new Set(['GET /v1/notifications/stream', 'POST /v1/auth/logout'])

interface Operation {
  method: string
  path: string
  parameters: { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Schema }[]
  body?: Schema
}

interface FuzzRequest {
  method: string
  url: string
  headers: Record<string, string>
  payload?: string
  signed: boolean
  anonymous: boolean
}

interface Finding {
  request: string
  status: number
  body: string
  problem: string
}

describe('fuzz: every OpenAPI operation, valid, boundary and hostile input', () => {
  let app: FastifyInstance
  let s3: TestS3
  let db: pg.Client
  let user: Awaited<ReturnType<typeof login>>
  const ids: string[] = []
  const fixtures: Fixtures = { uuids: () => ids }

  before(async function () {
    this.timeout(60_000)
    s3 = await startS3()
    app = await buildTestApp({
      ...s3.env,
      OUTBOX_RELAY_ENABLED: 'false',
      REGISTER_MAX_PER_IP: '100000',
      LOGIN_MAX_PER_IP: '100000',
      LOGIN_MAX_PER_ACCOUNT: '100000',
    })
    db = await dbClient()
    user = await login(app)
    const account = await openAccount(app, user.token)
    ids.push(account, await openAccount(app, user.token, 'USD'), user.user.id)
    ids.push((await fundAccount(app, account, 100_000, { description: 'coffee beans' })).id)
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: bearer(user.token),
      payload: { fileName: 'invoice.pdf', contentType: 'application/pdf', size: 10 },
    })
    ids.push(upload.json().id)
    const other = await login(app)
    ids.push(await openAccount(app, other.token))
  })

  after(async () => {
    await app?.close()
    await db?.end()
    await s3?.close()
  })

  /** Every row of the signed-in user a write could touch. */
  async function snapshot(): Promise<string> {
    const id = user.user.id
    const { rows } = await db.query(
      `SELECT
         (SELECT row_to_json(u)::text FROM (SELECT email, name, locale, timezone, avatar_url, preferences, role, deleted_at, password_hash FROM users WHERE id = $1) u) AS profile,
         (SELECT json_agg(a ORDER BY a.id)::text FROM (SELECT id, currency, name, balance FROM accounts WHERE user_id = $1) a) AS accounts,
         (SELECT count(*) FROM transactions WHERE from_user_id = $1 OR to_user_id = $1) AS transactions,
         (SELECT json_agg(x ORDER BY x.id)::text FROM (SELECT id, status, file_name FROM uploads WHERE user_id = $1) x) AS uploads,
         (SELECT count(*) FROM idempotency_keys WHERE user_id = $1) AS keys,
         (SELECT count(*) FROM fundings WHERE user_id = $1) AS fundings,
         (SELECT json_agg(n ORDER BY n.id)::text FROM (SELECT id, read_at FROM notifications WHERE user_id = $1) n) AS notifications,
         (SELECT row_to_json(m)::text FROM (SELECT secret, enabled_at, last_used_step FROM user_mfa WHERE user_id = $1) m) AS mfa,
         (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS recovery_codes`,
      [id],
    )
    return JSON.stringify(rows[0])
  }

  async function operations(): Promise<Operation[]> {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const ops: Operation[] = []
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(item)) {
        const o = op as {
          parameters?: Operation['parameters']
          requestBody?: { content?: Record<string, { schema: Schema }> }
        }
        ops.push({
          method: method.toUpperCase(),
          path,
          parameters: o.parameters ?? [],
          body: o.requestBody?.content?.['application/json']?.schema,
        })
      }
    }
    return ops
  }

  function requestArbitrary(op: Operation, resolve: (ref: string) => Schema): fc.Arbitrary<FuzzRequest> {
    const part = (where: string) =>
      fc.record(
        Object.fromEntries(
          op.parameters
            .filter((p) => p.in === where)
            .map((p) => [p.name, arbitraryFor(p.schema, fixtures, HOSTILITY, resolve)]),
        ),
        { requiredKeys: op.parameters.filter((p) => p.in === where && p.required).map((p) => p.name) },
      )
    const body = op.body ? arbitraryFor(op.body, fixtures, HOSTILITY / 5, resolve) : fc.constant(undefined)
    return fc
      .record({
        path: part('path'),
        query: part('query'),
        headers: part('header'),
        body,
        // One request in 15 sends a whole hostile body instead of the generated one.
        rawBody: fc.oneof(
          { weight: 14, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_BODIES) },
        ),
        anonymous: fc.integer({ min: 1, max: 10 }).map((n) => n === 1),
      })
      .map(({ path, query, headers, body: value, rawBody, anonymous }) => {
        let url = op.path
        for (const [name, v] of Object.entries(path)) url = url.replace(`{${name}}`, encode(text(v)))
        const search = new URLSearchParams()
        for (const [name, v] of Object.entries(query)) {
          for (const item of Array.isArray(v) ? v : [v]) search.append(name, text(item))
        }
        const qs = search.toString()
        const h: Record<string, string> = {}
        for (const [name, v] of Object.entries(headers)) {
          const t = text(v)
          // Header values are printable ASCII here; the HTTP layer refuses the rest before us.
          if ([...t].every((c) => c >= ' ' && c <= '~')) h[name] = t
        }
        let payload: string | undefined
        if (op.body || WRITES.has(op.method)) {
          payload = rawBody ?? (value === undefined ? undefined : JSON.stringify(value))
          if (payload !== undefined) h['content-type'] = 'application/json'
        }
        const signed = op.path === '/v1/funding/webhook'
        return { method: op.method, url: qs ? `${url}?${qs}` : url, headers: h, payload, signed, anonymous }
      })
  }

  function text(value: unknown): string {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? '')
  }

  async function send(r: FuzzRequest) {
    const headers = { ...r.headers }
    if (!r.anonymous) Object.assign(headers, bearer(user.token))
    if (r.signed && !r.anonymous && r.payload !== undefined) {
      // Signed like a real provider would sign it, so the body's handling is fuzzed too.
      const signed = fundingWebhook(ids[0] as string, 1)
      const sig = signedHeader(r.payload)
      Object.assign(headers, { ...signed.headers, ...sig })
    }
    return app.inject({ method: r.method as 'GET', url: r.url, headers, payload: r.payload })
  }

  it(`drives every operation with ${RUNS} generated requests each (seed ${SEED}): no 5xx, error shape, no change on refusal`, async function () {
    this.timeout(240_000)
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    const resolve = (ref: string): Schema => doc.components?.schemas?.[ref.split('/').at(-1) as string] ?? {}
    const ops = (await operations()).filter((op) => !SKIPPED.has(`${op.method} ${op.path}`))
    expect(ops.length).to.be.greaterThan(20)
    const findings: Finding[] = []
    let count = 0
    const statuses = new Map<number, number>()
    const started = Date.now()
    for (const [index, op] of ops.entries()) {
      const requests = fc.sample(requestArbitrary(op, resolve), { seed: SEED + index, numRuns: RUNS })
      // And each hostile string alone in every path parameter: the cheapest 500s of all.
      for (const hostile of HOSTILE_STRINGS.filter((s) => s !== '')) {
        let url = op.path
        if (!url.includes('{')) break
        url = url.replace(/\{[^}]+\}/g, encode(hostile))
        requests.push({ method: op.method, url, headers: {}, signed: false, anonymous: false })
      }
      // And each one alone in every query parameter (the others left out): `limit=Infinity` hid from the mix.
      for (const param of op.parameters.filter((p) => p.in === 'query')) {
        if (op.path.includes('{')) break
        for (const hostile of HOSTILE_STRINGS) {
          const url = `${op.path}?${param.name}=${encode(hostile)}`
          requests.push({ method: op.method, url, headers: {}, signed: false, anonymous: false })
        }
      }
      for (const r of requests) {
        const write = WRITES.has(r.method)
        const before = write ? await snapshot() : ''
        const res = await send(r)
        count++
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        const label = `${r.method} ${r.url} ${r.anonymous ? '(anonymous) ' : ''}${(r.payload ?? '').slice(0, 300)}`
        if (res.statusCode >= 500) {
          findings.push({
            request: label,
            status: res.statusCode,
            body: res.body.slice(0, 300),
            problem: '5xx',
          })
        } else if (res.statusCode >= 400) {
          const body = safeJson(res.body) as {
            error?: { code?: unknown; message?: unknown; requestId?: unknown }
          }
          const e = body?.error
          if (
            typeof e?.code !== 'string' ||
            typeof e.message !== 'string' ||
            typeof e.requestId !== 'string'
          ) {
            findings.push({
              request: label,
              status: res.statusCode,
              body: res.body.slice(0, 300),
              problem: 'error shape',
            })
          }
          if (write && res.statusCode !== 429 && (await snapshot()) !== before) {
            findings.push({
              request: label,
              status: res.statusCode,
              body: res.body.slice(0, 300),
              problem: 'refused write changed state',
            })
          }
        }
        // A request that ended the session (revoke-all, password change): sign in again.
        if (res.statusCode === 401 && !r.anonymous && !r.signed) {
          const check = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
          if (check.statusCode === 401) {
            const again = await app.inject({
              method: 'POST',
              url: '/v1/auth/login',
              payload: { email: user.email, password: user.password },
            })
            if (again.statusCode === 200) user = { ...user, token: again.json().token }
          }
        }
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    console.log(
      `      fuzz: ${count} requests over ${ops.length} operations in ${seconds} s, seed ${SEED}, ${findings.length} findings`,
    )
    console.log(
      `      statuses: ${[...statuses]
        .sort(([a], [b]) => a - b)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')}`,
    )
    // A run that never gets past validation or authentication proves nothing.
    expect((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0)).to.be.greaterThan(count / 10)
    const distinct = [
      ...new Map(
        findings.map((f) => [
          `${f.problem} ${f.request.split(' ')[0]} ${f.request.split(' ')[1]?.split('?')[0]}`,
          f,
        ]),
      ).values(),
    ]
    const report = distinct.map(
      (f) => `${f.problem} ${f.status} ${f.request.slice(0, 160)} => ${f.body.slice(0, 160)}`,
    )
    expect(report, report.join('\n')).to.deep.equal([])
  })
})

/** Percent-encodes like a client would; a lone surrogate goes out as the invalid UTF-8 bytes ED A0 80. */
function encode(value: string): string {
  return [...value]
    .map((ch) => {
      try {
        return encodeURIComponent(ch)
      } catch {
        return '%ED%A0%80'
      }
    })
    .join('')
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

import { SIGNATURE_HEADER, signFunding } from '../../src/features/accounts/funding-signature.js'
import { TEST_FUNDING_SECRET } from '../helpers/funding.js'

function signedHeader(payload: string): Record<string, string> {
  return { [SIGNATURE_HEADER]: signFunding(TEST_FUNDING_SECRET, payload, Math.floor(Date.now() / 1000)) }
}
