/**
 * Helpers of the accounts, transactions and notifications specs: real listening instances, an SSE
 * client over real HTTP, and a PostgreSQL proxy that counts the round trips the service makes.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { buildTestApp } from './helpers/app.js'
import { fundAccount } from './helpers/funding.js'
import { services } from './helpers/services.js'
import { bearer } from './helpers/users.js'

/** An instance listening on a real port of 127.0.0.1. */
export interface Running {
  app: FastifyInstance
  url: string
}

/** Builds and starts an instance; close it with `running.app.close()`. */
export async function startInstance(overrides: Record<string, string | undefined> = {}): Promise<Running> {
  const app = await buildTestApp(overrides)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

/** A direct connection to this run's database, for assertions on what was (not) written. */
export async function dbClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: services.databaseUrl })
  await client.connect()
  return client
}

/** Opens an account through the API and returns its id. */
export async function openAccount(app: FastifyInstance, token: string, currency = 'EUR'): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    headers: bearer(token),
    payload: { currency },
  })
  if (res.statusCode !== 201) throw new Error(`open account failed: ${res.statusCode} ${res.body}`)
  return res.json().account.id as string
}

/** Posts a transaction through `inject` with a fresh (or given) Idempotency-Key. */
export async function post(
  app: FastifyInstance,
  token: string,
  body: Record<string, unknown>,
  key: string = randomUUID(),
) {
  return app.inject({
    method: 'POST',
    url: '/v1/transactions',
    headers: { ...bearer(token), 'idempotency-key': key },
    payload: body,
  })
}

/** Credits an EUR account through the signed funding webhook (users cannot deposit themselves). */
export async function deposit(
  app: FastifyInstance,
  _token: string,
  toAccountId: string,
  amount: string | number,
) {
  return fundAccount(app, toAccountId, amount)
}

/** Reads an account's balance through the API. */
export async function balanceOf(app: FastifyInstance, token: string, accountId: string): Promise<bigint> {
  const res = await app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(token) })
  const account = (res.json().items as { id: string; balance: string }[]).find((a) => a.id === accountId)
  if (!account) throw new Error(`account ${accountId} not listed`)
  return BigInt(account.balance)
}

/** One parsed SSE event. */
export interface SseEvent {
  id?: string
  event?: string
  data?: string
}

/** A text/event-stream reader over real HTTP (what a browser's EventSource does). */
export class SseClient {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  status = 0
  ended = false
  private buffer = ''
  private readonly controller = new AbortController()
  private waiters: (() => void)[] = []

  /** Connects; resolves once the response headers arrived. */
  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient()
    const res = await fetch(url, { headers, signal: client.controller.signal })
    client.status = res.status
    if (!res.body) throw new Error('no body')
    void client.pump(res.body)
    return client
  }

  /** Waits for the first event (counting from `from`) matching a predicate. */
  async next(match: (e: SseEvent) => boolean, timeoutMs = 5000, from = 0): Promise<SseEvent> {
    return this.until(() => this.events.slice(from).find(match), timeoutMs, 'event')
  }

  /** Waits until a condition over the received data holds. */
  async until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = check()
      if (found) return found
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Disconnects. */
  close(): void {
    this.controller.abort()
  }

  private notify() {
    for (const wake of this.waiters.splice(0)) wake()
  }

  private async pump(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of body) {
        this.buffer += decoder.decode(chunk, { stream: true })
        let end = this.buffer.indexOf('\n\n')
        while (end >= 0) {
          this.parse(this.buffer.slice(0, end))
          this.buffer = this.buffer.slice(end + 2)
          end = this.buffer.indexOf('\n\n')
        }
        this.notify()
      }
    } catch {
      // Aborted by close(), or the server cut the connection.
    }
    this.ended = true
    this.notify()
  }

  private parse(block: string) {
    const event: SseEvent = {}
    let isEvent = false
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim())
      const match = /^(id|event|data): ?(.*)$/.exec(line)
      if (match) {
        event[match[1] as keyof SseEvent] = match[2]
        isEvent = true
      }
    }
    if (isEvent) this.events.push(event)
  }
}

/**
 * A TCP proxy in front of PostgreSQL that counts round trips: each simple Query ('Q') or
 * extended-protocol Sync ('S') message the client sends waits for one server answer.
 */
export class PgRoundTripCounter {
  count = 0
  port = 0
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: this.host, port: this.targetPort })
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('error', () => s.destroy())
        s.on('close', () => this.sockets.delete(s))
      }
      let pending = Buffer.alloc(0)
      let startup = true
      client.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk])
        for (;;) {
          if (startup) {
            if (pending.length < 4) break
            const len = pending.readInt32BE(0)
            if (pending.length < len) break
            pending = pending.subarray(len)
            startup = false
            continue
          }
          if (pending.length < 5) break
          const len = pending.readInt32BE(1)
          if (pending.length < len + 1) break
          const type = String.fromCharCode(pending[0] as number)
          if (type === 'Q' || type === 'S') this.count++
          pending = pending.subarray(len + 1)
        }
      })
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()))
    this.port = (this.server.address() as { port: number }).port
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()))
  }
}

/**
 * Two instances sharing the database and a fresh Redis namespace, like two tasks behind the ALB;
 * B runs no outbox relay, so what reaches B's clients went through A's relay and Redis. Registers
 * the suite's hooks: both start before its tests, streams opened with `open` close after each test.
 */
export function instancePairWithStreams(tag: string, env: Record<string, string>) {
  const prefix = `${services.redisPrefix}${tag}-${randomBytes(3).toString('hex')}:`
  const streams: SseClient[] = []
  const pair = {
    a: undefined as unknown as Running,
    b: undefined as unknown as Running,
    prefix,
    streams,
    /** Opens a stream on `server` as `token`; it is closed after the test. */
    async open(server: Running, token: string, headers: Record<string, string> = {}) {
      const client = await SseClient.open(`${server.url}/v1/notifications/stream`, {
        ...bearer(token),
        ...headers,
      })
      streams.push(client)
      return client
    },
  }
  before(async () => {
    const common = { REDIS_KEY_PREFIX: prefix, ...env }
    pair.a = await startInstance(common)
    pair.b = await startInstance({ ...common, OUTBOX_RELAY_ENABLED: 'false' })
  })
  afterEach(() => {
    for (const s of streams.splice(0)) s.close()
  })
  after(async () => {
    await Promise.all([pair.a?.app.close(), pair.b?.app.close()])
  })
  return pair
}
