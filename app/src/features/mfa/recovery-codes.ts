/**
 * Recovery codes (ASVS "lookup secrets"): 120 random bits each, shown once as four groups of six
 * base32 characters. With at least 112 bits of entropy a plain SHA-256 is an adequate stored hash
 * (ASVS 6.5.2), and it lets a code be found by its hash in one indexed lookup.
 */
import { createHash, randomBytes } from 'node:crypto'
import { base32Encode } from './totp.js'

const CODE_BYTES = 15

/** A new recovery code, e.g. `k3v7qa-m2xw9d-p4rt6e-h8zn5c`. */
export function newRecoveryCode(): string {
  const raw = base32Encode(randomBytes(CODE_BYTES)).toLowerCase()
  return raw.match(/.{6}/g)?.join('-') ?? raw
}

/** The canonical form a user's typing is compared in: no separators or spaces, upper case. */
export function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase()
}

/** The stored hash of a code (typed in any case, with or without separators). */
export function recoveryCodeHash(code: string): string {
  return createHash('sha256').update(normalizeRecoveryCode(code)).digest('hex')
}
