/**
 * Money for tests through the one way it enters the ledger: a signed payment-provider webhook
 * (POST /v1/funding/webhook), exactly as a provider sends it. Users cannot deposit to themselves.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { SIGNATURE_HEADER, signFunding } from '../../src/features/accounts/funding-signature.js'

/** The webhook secret every test instance is built with (testEnv's FUNDING_WEBHOOK_SECRET). */
export const TEST_FUNDING_SECRET = 'test-funding-webhook-secret-0123456789'

/** What a provider event carries besides the account and amount. */
export interface FundingOptions {
  currency?: string
  description?: string
  reference?: string
  /** The provider's event id; a fresh one by default. */
  eventId?: string
}

/** The signed webhook request for one funding event, for tests that tamper with it. */
export function fundingWebhook(
  accountId: string,
  amount: string | number | bigint,
  options: FundingOptions = {},
) {
  const event = {
    id: options.eventId ?? `evt_${randomUUID()}`,
    type: 'funding.succeeded',
    accountId,
    amount: String(amount),
    currency: options.currency ?? 'EUR',
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.reference !== undefined ? { reference: options.reference } : {}),
  }
  const payload = JSON.stringify(event)
  return {
    event,
    payload,
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signFunding(TEST_FUNDING_SECRET, payload, Math.floor(Date.now() / 1000)),
    },
  }
}

/** Credits an account through the signed webhook; throws unless the funding was applied. */
export async function fundAccount(
  app: FastifyInstance,
  accountId: string,
  amount: string | number | bigint,
  options: FundingOptions = {},
) {
  const { payload, headers } = fundingWebhook(accountId, amount, options)
  const res = await app.inject({ method: 'POST', url: '/v1/funding/webhook', headers, payload })
  if (res.statusCode !== 201) throw new Error(`funding failed: ${res.statusCode} ${res.body}`)
  return res.json().transaction as { id: string; createdAt: string; amount: string; toAccountId: string }
}
