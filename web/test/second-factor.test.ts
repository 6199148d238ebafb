import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/lib/errors.js'
import { factorOf, secondFactorMessage } from '../src/lib/second-factor.js'

describe('second factor in forms', () => {
  it('sends six digits as a code and anything else as a recovery code', () => {
    expect(factorOf(' 123456 ')).toEqual({ code: '123456' })
    expect(factorOf('k3v7qa-m2xw9d-p4rt6e-h8zn5c')).toEqual({ recoveryCode: 'k3v7qa-m2xw9d-p4rt6e-h8zn5c' })
    expect(factorOf('12345')).toEqual({ recoveryCode: '12345' })
  })

  it('explains the daily lock and points to the recovery codes', () => {
    const locked = new ApiError(403, 'MFA_CODES_LOCKED', 'Too many wrong codes for this account today')
    expect(secondFactorMessage(locked)).toMatch(/recovery code/)
    expect(secondFactorMessage(locked)).toMatch(/until tomorrow/)
    expect(secondFactorMessage(new ApiError(403, 'MFA_CODE_REQUIRED', 'x'))).toMatch(/authenticator app/)
    expect(secondFactorMessage(new ApiError(403, 'INVALID_MFA_CODE', 'x'))).toMatch(/wrong/)
    expect(secondFactorMessage(new ApiError(403, 'REAUTHENTICATION_FAILED', 'x'))).toBeUndefined()
    expect(secondFactorMessage(new Error('offline'))).toBeUndefined()
  })
})
