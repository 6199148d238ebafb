/**
 * TOTP (RFC 6238) on node:crypto: HOTP (RFC 4226) over the number of `period`-second steps since
 * the Unix epoch. Authenticator apps only interoperate on SHA-1, 6 digits and 30 s, which is what
 * the service uses; the other parameters exist so the RFC's own test vectors (SHA-1/256/512, 8
 * digits) can be checked against this code.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** The HMAC and code shape of a TOTP. */
export interface TotpParams {
  algorithm: 'sha1' | 'sha256' | 'sha512'
  digits: number
  periodSeconds: number
}

/** What authenticator apps understand (Google Authenticator ignores anything else). */
export const AUTHENTICATOR_TOTP: TotpParams = { algorithm: 'sha1', digits: 6, periodSeconds: 30 }

/** RFC 4226's recommended secret size: 160 bits, the SHA-1 output length. */
export const SECRET_BYTES = 20

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 without padding: the secret encoding of otpauth:// URIs. */
export function base32Encode(bytes: Buffer): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/** Decodes base32 (case-insensitive, padding and spaces ignored); throws on any other character. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase()
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of clean) {
    const index = BASE32.indexOf(char)
    if (index < 0) throw new Error('not base32')
    value = ((value << 5) | index) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** A fresh 160-bit secret from the CSPRNG. */
export function generateSecret(): Buffer {
  return randomBytes(SECRET_BYTES)
}

/** The time step a moment falls in. */
export function timeStep(atMs: number, params: TotpParams = AUTHENTICATOR_TOTP): number {
  return Math.floor(atMs / 1000 / params.periodSeconds)
}

/** The HOTP value of one counter (RFC 4226 section 5.3, dynamic truncation), zero-padded. */
export function hotp(secret: Buffer, counter: number, params: TotpParams = AUTHENTICATOR_TOTP): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac(params.algorithm, secret).update(message).digest()
  const offset = (mac[mac.length - 1] as number) & 0x0f
  const binary = mac.readUInt32BE(offset) & 0x7fffffff
  return String(binary % 10 ** params.digits).padStart(params.digits, '0')
}

/** The TOTP of a moment (ms since the epoch). */
export function totp(secret: Buffer, atMs: number, params: TotpParams = AUTHENTICATOR_TOTP): string {
  return hotp(secret, timeStep(atMs, params), params)
}

/**
 * The step whose code `code` is, searching the current step and `window` steps either side (clock
 * drift between phone and server), or undefined. Every candidate is compared in constant time.
 */
export function matchingStep(
  secret: Buffer,
  code: string,
  atMs: number,
  { window = 1, params = AUTHENTICATOR_TOTP }: { window?: number; params?: TotpParams } = {},
): number | undefined {
  if (code.length !== params.digits || !/^\d+$/.test(code)) return undefined
  const now = timeStep(atMs, params)
  let found: number | undefined
  for (let step = now - window; step <= now + window; step++) {
    const candidate = Buffer.from(hotp(secret, step, params))
    if (timingSafeEqual(candidate, Buffer.from(code)) && found === undefined) found = step
  }
  return found
}

/** The `otpauth://` URI an authenticator app reads from a QR code (Key Uri Format). */
export function otpauthUri(secret: Buffer, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`
  const query = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: 'SHA1',
    digits: String(AUTHENTICATOR_TOTP.digits),
    period: String(AUTHENTICATOR_TOTP.periodSeconds),
  })
  return `otpauth://totp/${label}?${query.toString()}`
}
