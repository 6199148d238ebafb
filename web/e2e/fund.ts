/**
 * Money enters only through the trusted funding path, never the web client: the journey funds a user
 * the way a payment provider does, with a signed webhook event (the service under test runs with the
 * test suite's FUNDING_WEBHOOK_SECRET).
 */
import { TEST_FUNDING_SECRET } from '../../app/test/helpers/funding.js'
import { fund } from '../../scripts/kit/api.js'

/** Credits `amountMinor` EUR minor units to the account through the signed funding webhook. */
export async function fundUser(apiUrl: string, accountId: string, amountMinor: string): Promise<void> {
  await fund(apiUrl, TEST_FUNDING_SECRET, accountId, amountMinor)
}
