/**
 * Posts a withdrawal or transfer through the `post_transaction` database function
 * (prisma/migrations/*_transactions_notifications): one statement, so one round trip and one
 * implicit database transaction holding the balances, the transaction row, the idempotency record
 * and the outbox events.
 */
import { createHash } from 'node:crypto'
import type { Sql } from '../../db/sql.js'
import { sqlStateOf } from './sql-state.js'

/** What a client asks for, already validated and normalized. */
export interface TransactionRequest {
  type: 'withdrawal' | 'transfer'
  amount: bigint
  currency: string
  fromAccountId: string | null
  toAccountId: string | null
  description: string | null
}

/** The database's verdict. Only `created` wrote anything. */
export type PostOutcome =
  | { outcome: 'created' | 'replayed'; status: number; body: unknown }
  | { outcome: 'key_reused' | 'deposit_not_allowed' }
  | {
      outcome: 'account_not_found' | 'currency_mismatch' | 'insufficient_funds' | 'balance_limit'
      field: 'fromAccountId' | 'toAccountId'
    }

/** SHA-256 of the normalized request: equal for equal requests however the JSON was written. */
export function requestHash(request: TransactionRequest): string {
  const canonical = JSON.stringify([
    'POST /v1/transactions',
    request.type,
    request.amount.toString(),
    request.currency,
    request.fromAccountId,
    request.toAccountId,
    request.description,
  ])
  return createHash('sha256').update(canonical).digest('hex')
}

// Deadlock and serialization failure: the database rolled everything back; trying again is safe.
const RETRYABLE = new Set(['40P01', '40001'])

const POST = `SELECT post_transaction(
  $1::uuid, $2, $3, $4::"TransactionType", $5::bigint, $6, $7::uuid, $8::uuid, $9
) AS result`

/** Options of `postTransaction`. */
export interface PostOptions {
  maxAttempts: number
  /** Called before each retry (for logs and metrics). */
  onRetry?: (attempt: number, sqlState: string) => void
}

/**
 * Runs the posting on `sql` (plain pg on the writer's pool: the hot write path has no ORM in it),
 * retrying a bounded number of times on deadlock or serialization failure.
 */
export async function postTransaction(
  sql: Sql,
  userId: string,
  idempotencyKey: string,
  request: TransactionRequest,
  options: PostOptions,
): Promise<PostOutcome> {
  const hash = requestHash(request)
  for (let attempt = 1; ; attempt++) {
    try {
      const rows = await sql<{ result: PostOutcome }>(POST, [
        userId,
        idempotencyKey,
        hash,
        request.type,
        request.amount.toString(),
        request.currency,
        request.fromAccountId,
        request.toAccountId,
        request.description,
      ])
      const result = rows[0]?.result
      if (!result) throw new Error('post_transaction returned no row')
      return result
    } catch (err) {
      const state = sqlStateOf(err)
      if (!state || !RETRYABLE.has(state) || attempt >= options.maxAttempts) throw err
      options.onRetry?.(attempt, state)
      // Jittered backoff so the transactions that collided do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
    }
  }
}
