/**
 * A steady stream of deposits through the public API, the way a careful client sends them:
 * one Idempotency-Key per intended transaction, retried with the same key until acknowledged.
 * Every attempt is recorded, so the drill can tell what the clients were told.
 */

import { randomUUID } from 'node:crypto'
import { SIGNATURE_HEADER, signFunding } from '../../app/src/features/accounts/funding-signature.js'

/** A transaction the API acknowledged (201): the client believes it happened. */
export interface Ack {
  key: string
  transactionId: string
  /** When the acknowledged attempt was sent. */
  sentAt: number
  at: number
}

/** A failed attempt, as the client saw it. */
export interface Failure {
  key: string
  at: number
  /** HTTP status, or the network error's name when there was no answer. */
  status: string
}

/** One request as the client saw it: for latency and status checks over a time window. */
export interface Attempt {
  kind: 'read' | 'write'
  sentAt: number
  at: number
  /** HTTP status, or the network error's name when there was no answer. */
  status: string
  /** For an error answer: the API's error code, or `balancer` for a page the balancer wrote itself. */
  detail?: string
}

/** What to drive and how hard. */
export interface WorkloadOptions {
  baseUrl: string
  token: string
  /** The service's FUNDING_WEBHOOK_SECRET: deposits are signed funding events. */
  fundingSecret: string
  /** Client i deposits into account i mod n: one hot row would serialize every commit. */
  accountIds: string[]
  currency: string
  clients: number
  /** Clients that only read (GET /v1/transactions): served by a replica where the route uses one. */
  readers: number
  /** A user who does not write during the drill, so read-your-writes does not pin its reads to the writer. */
  readToken: string
  requestTimeoutMs: number
  retryDelayMs: number
  /** Pause of a reader between two reads. @default 20 */
  readPauseMs?: number
  /** Pause of a writer after an acknowledged write (bounds the load). @default 0 */
  writePauseMs?: number
}

/** Runs `clients` loops until `stop()`; then `acks` and `failures` hold the whole history. */
export class Workload {
  readonly acks: Ack[] = []
  readonly failures: Failure[] = []
  /** Keys sent at least once and never acknowledged (outcome unknown to the client). */
  readonly unresolved = new Set<string>()
  /** Every read: when it finished and how (`200`, another status, or the network error). */
  readonly reads: { at: number; status: string }[] = []
  /** Every request, read or write, in the order they finished. */
  readonly attempts: Attempt[] = []
  private stopping = false
  private loops: Promise<void>[] = []

  constructor(private readonly opts: WorkloadOptions) {}

  start(): void {
    this.loops = Array.from({ length: this.opts.clients }, (_, i) =>
      this.loop(this.opts.accountIds[i % this.opts.accountIds.length] as string),
    )
    for (let i = 0; i < this.opts.readers; i++) this.loops.push(this.readLoop())
  }

  /** Stops after each client's current attempt. */
  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(this.loops)
  }

  /** Acknowledged so far. */
  get ackCount(): number {
    return this.acks.length
  }

  private async loop(accountId: string): Promise<void> {
    while (!this.stopping) {
      const key = randomUUID()
      this.unresolved.add(key)
      while (!this.stopping) {
        if (await this.attempt(key, accountId)) {
          this.unresolved.delete(key)
          if (this.opts.writePauseMs) await new Promise((r) => setTimeout(r, this.opts.writePauseMs))
          break
        }
        await new Promise((r) => setTimeout(r, this.opts.retryDelayMs))
      }
    }
  }

  private async readLoop(): Promise<void> {
    const { baseUrl, readToken, requestTimeoutMs } = this.opts
    while (!this.stopping) {
      const sentAt = Date.now()
      let detail: string | undefined
      const status = await fetch(`${baseUrl}/v1/transactions?limit=5`, {
        headers: { authorization: `Bearer ${readToken}` },
        signal: AbortSignal.timeout(requestTimeoutMs),
      }).then(async (res) => {
        const text = await res.text()
        if (!res.ok) detail = errorDetail(res, text)
        return String(res.status)
      }, networkError)
      const at = Date.now()
      this.reads.push({ at, status })
      this.attempts.push({ kind: 'read', sentAt, at, status, detail })
      await new Promise((r) => setTimeout(r, this.opts.readPauseMs ?? 20))
    }
  }

  private async attempt(key: string, accountId: string): Promise<boolean> {
    const { baseUrl, fundingSecret, currency, requestTimeoutMs } = this.opts
    const sentAt = Date.now()
    try {
      // Deposits arrive as a payment provider sends them: a signed funding webhook whose event id
      // is the key (a retry is a redelivery). The key in the description lets the drill find
      // duplicates on the new primary.
      const payload = JSON.stringify({
        id: key,
        type: 'funding.succeeded',
        accountId,
        amount: '100',
        currency,
        description: key,
      })
      const res = await fetch(`${baseUrl}/v1/funding/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signFunding(fundingSecret, payload, Math.floor(Date.now() / 1000)),
        },
        body: payload,
        signal: AbortSignal.timeout(requestTimeoutMs),
      })
      const text = await res.text()
      const body = parseBody(text) as { transaction?: { id?: string }; error?: { code?: string } } | undefined
      const at = Date.now()
      this.attempts.push({
        kind: 'write',
        sentAt,
        at,
        status: String(res.status),
        detail: res.status === 201 || res.status === 200 ? undefined : errorDetail(res, text),
      })
      // 200: a redelivery of an event already applied, answered with the first result.
      if ((res.status === 201 || res.status === 200) && body?.transaction?.id) {
        this.acks.push({ key, transactionId: body.transaction.id, sentAt, at })
        return true
      }
      this.failures.push({ key, at, status: `${res.status} ${body?.error?.code ?? ''}`.trim() })
      return false
    } catch (err) {
      const at = Date.now()
      this.attempts.push({ kind: 'write', sentAt, at, status: networkError(err) })
      this.failures.push({ key, at, status: networkError(err) })
      return false
    }
  }
}

/** The name of a request that got no answer: the socket error's code (ECONNRESET...) or the error's name. */
function networkError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } }
  return e.cause?.code ?? e.name
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Who answered an error: the API's error code, or the balancer's own HTML page. */
function errorDetail(res: Response, text: string): string {
  if (res.headers.get('content-type')?.includes('text/html')) return 'balancer'
  const body = parseBody(text) as { error?: { code?: string } } | undefined
  return body?.error?.code ?? 'no code'
}
