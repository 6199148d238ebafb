/** Request and response pieces shared by the MFA routes and the login's second step. */
import { Type } from 'typebox'
import { badRequest } from '../../platform/errors.js'
import type { SecondFactor } from './authenticator.js'

/** A 6-digit code from the authenticator app. */
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'The current 6-digit code' })

/** A recovery code as shown at enrolment (separators and case do not matter). */
export const RecoveryCode = Type.String({
  minLength: 24,
  maxLength: 40,
  pattern: '^[A-Za-z2-7 -]+$',
  description: 'One unused recovery code (each works once)',
})

/** Body fields of a second factor: exactly one of them. */
export const SecondFactorFields = {
  code: Type.Optional(TotpCode),
  recoveryCode: Type.Optional(RecoveryCode),
}

/**
 * The second factor of an account-takeover action (step-up.ts): when the user has two-factor
 * authentication, exactly one of them is required (403 MFA_CODE_REQUIRED without); ignored otherwise.
 */
export const StepUpFields = {
  code: Type.Optional(
    Type.String({
      ...TotpCode,
      description: 'With two-factor authentication on: the current 6-digit code (or send recoveryCode)',
    }),
  ),
  recoveryCode: Type.Optional(
    Type.String({
      ...RecoveryCode,
      description: 'With two-factor authentication on: one unused recovery code instead of code (spent)',
    }),
  ),
}

/** Recovery codes, shown this once. */
export const RecoveryCodes = Type.Array(Type.String(), {
  description: 'Single-use recovery codes: shown only in this answer, stored hashed; keep them offline',
})

/** 400 unless the body carries exactly one factor. */
export function oneFactor(body: SecondFactor): SecondFactor {
  if ((body.code === undefined) === (body.recoveryCode === undefined)) {
    throw badRequest('Send either code or recoveryCode', [
      { field: 'code', message: 'exactly one of code and recoveryCode is required' },
    ])
  }
  return body
}
