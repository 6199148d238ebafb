/**
 * The second factor in forms: one field takes either the 6-digit code or a recovery code, and the
 * service's MFA refusals read as what the user should do next, not as a generic error.
 */
import { ApiError } from './errors.js'

/** The body fields for what the user typed: six digits are a code, anything else a recovery code. */
export function factorOf(typed: string): { code: string } | { recoveryCode: string } {
  const value = typed.trim()
  return /^\d{6}$/.test(value) ? { code: value } : { recoveryCode: value }
}

/** What to tell the user about an MFA refusal, or undefined when `err` is not one. */
export function secondFactorMessage(err: unknown): string | undefined {
  if (!(err instanceof ApiError)) return undefined
  switch (err.code) {
    case 'MFA_CODES_LOCKED':
      return 'Too many wrong codes today: authenticator codes are blocked for this account until tomorrow. Use one of your recovery codes instead, or reset your password.'
    case 'INVALID_MFA_CODE':
      return 'That code is wrong or was already used. Wait for the next code in your app and try again.'
    case 'MFA_CODE_REQUIRED':
      return 'Enter the current code from your authenticator app (or a recovery code) to confirm.'
    case 'RATE_LIMITED':
      return 'Too many attempts: wait a few minutes, then try again.'
    default:
      return undefined
  }
}
