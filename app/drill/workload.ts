/**
 * A steady stream of deposits through the public API, the way a careful client sends them:
 * one Idempotency-Key per intended transaction, retried with the same key until acknowledged.
 * Every attempt is recorded, so the drill can tell what the clients were told.
 */

import { randomUUID } from 'node:crypto'
import { SIGNATURE_HEADER, signFunding } from '../src/features/accounts/funding-signature.js'

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
}

/** Runs `clients` loops until `stop()`; then `acks` and `failures` hold the whole history. */
export class Workload {
  readonly acks: Ack[] = []
  readonly failures: Failure[] = []
  /** Keys sent at least once and never acknowledged (outcome unknown to the client). */
  readonly unresolved = new Set<string>()
  /** Every read: when it finished and how (`200`, another status, or the network error). */
  readonly reads: { at: number; status: string }[] = []
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
          break
        }
        await new Promise((r) => setTimeout(r, this.opts.retryDelayMs))
      }
    }
  }

  private async readLoop(): Promise<void> {
    const { baseUrl, readToken, requestTimeoutMs } = this.opts
    while (!this.stopping) {
      const status = await fetch(`${baseUrl}/v1/transactions?limit=5`, {
        headers: { authorization: `Bearer ${readToken}` },
        signal: AbortSignal.timeout(requestTimeoutMs),
      }).then(
        async (res) => {
          await res.arrayBuffer()
          return String(res.status)
        },
        (err: Error) => err.name,
      )
      this.reads.push({ at: Date.now(), status })
      await new Promise((r) => setTimeout(r, 20))
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
      const body = (await res.json().catch(() => undefined)) as
        | { transaction?: { id?: string }; error?: { code?: string } }
        | undefined
      // 200: a redelivery of an event already applied, answered with the first result.
      if ((res.status === 201 || res.status === 200) && body?.transaction?.id) {
        this.acks.push({ key, transactionId: body.transaction.id, sentAt, at: Date.now() })
        return true
      }
      this.failures.push({ key, at: Date.now(), status: `${res.status} ${body?.error?.code ?? ''}`.trim() })
      return false
    } catch (err) {
      this.failures.push({ key, at: Date.now(), status: (err as Error).name })
      return false
    }
  }
}
