/**
 * Posts a funding through the `post_funding` database function (prisma/migrations/*_funding):
 * one statement for the replay check, the limits, the balance, the deposit transaction, its
 * outbox event and the funding row that is both replay guard and audit record.
 */
import { createHash } from 'node:crypto'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { HttpError } from '../../platform/errors.js'
import { sqlStateOf } from './sql-state.js'

/** One inflow of money, already validated. */
export interface FundingRequest {
  source: 'provider' | 'treasury'
  /** The provider's event id, or `<admin id>:<Idempotency-Key>` for treasury operations. */
  eventId: string
  accountId: string
  amount: bigint
  currency: string
  description: string | null
  /** The admin behind a treasury operation. */
  actorId: string | null
  /** The admin's reason, or the provider's payment reference. */
  reason: string | null
}

/** Limits every funding is held to (config `funding`). */
export interface FundingLimits {
  maxAmount: bigint
  dailyLimit: bigint
}

/** What the database decided. Only `created` wrote anything. */
export type FundingOutcome =
  | { outcome: 'created'; body: unknown; userId: string }
  | { outcome: 'replayed'; body: unknown }
  | {
      outcome:
        | 'event_conflict'
        | 'amount_limit'
        | 'daily_limit'
        | 'balance_limit'
        | 'account_not_found'
        | 'currency_mismatch'
    }

/** SHA-256 of the normalized request: a replay of the same event must carry the same request. */
export function fundingHash(request: FundingRequest): string {
  const canonical = JSON.stringify([
    request.source,
    request.eventId,
    request.accountId,
    request.amount.toString(),
    request.currency,
    request.description,
    request.actorId,
    request.reason,
  ])
  return createHash('sha256').update(canonical).digest('hex')
}

const RETRYABLE = new Set(['40P01', '40001', 'P2034'])

/** Runs the funding, retrying a bounded number of times on deadlock or serialization failure. */
export async function postFunding(
  db: PrismaClient,
  request: FundingRequest,
  limits: FundingLimits,
  maxAttempts: number,
): Promise<FundingOutcome> {
  const hash = fundingHash(request)
  for (let attempt = 1; ; attempt++) {
    try {
      const rows = await db.$queryRaw<{ result: FundingOutcome }[]>`
        SELECT post_funding(
          ${request.source}::"FundingSource", ${request.eventId}, ${hash}, ${request.accountId}::uuid,
          ${request.amount.toString()}::bigint, ${request.currency}, ${request.description},
          ${request.actorId}::uuid, ${request.reason},
          ${limits.maxAmount.toString()}::bigint, ${limits.dailyLimit.toString()}::bigint
        ) AS result`
      const result = rows[0]?.result
      if (!result) throw new Error('post_funding returned no row')
      return result
    } catch (err) {
      const state = sqlStateOf(err)
      if (!state || !RETRYABLE.has(state) || attempt >= maxAttempts) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
    }
  }
}

const REFUSALS: Record<
  Exclude<FundingOutcome['outcome'], 'created' | 'replayed'>,
  [number, string, string]
> = {
  event_conflict: [409, 'EVENT_CONFLICT', 'This event id was already applied with a different request'],
  amount_limit: [422, 'LIMIT_EXCEEDED', 'The amount is above the per-transaction funding limit'],
  daily_limit: [422, 'LIMIT_EXCEEDED', "The amount would exceed the account owner's daily funding limit"],
  balance_limit: [422, 'BALANCE_LIMIT', 'The account cannot hold this amount'],
  account_not_found: [404, 'ACCOUNT_NOT_FOUND', 'Account not found'],
  currency_mismatch: [422, 'CURRENCY_MISMATCH', "The currency does not match the account's currency"],
}

/** The error a refused funding answers with. */
export function fundingRefusal(outcome: keyof typeof REFUSALS): HttpError {
  const [status, code, message] = REFUSALS[outcome]
  return new HttpError(status, code, message)
}
