/**
 * The payment provider's webhook signature: `Funding-Signature: t=<unix seconds>,v1=<hex>` where
 * v1 = HMAC-SHA256(secret, `${t}.${raw body}`), the scheme Stripe and others use. Signing the raw
 * bytes (not re-serialized JSON) means what was signed is exactly what is parsed; the timestamp
 * inside the MAC bounds how long a captured request stays usable.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The header that carries the signature. */
export const SIGNATURE_HEADER = 'funding-signature'

/** The header value for `body` signed at `timestamp` (seconds); providers and tests use it. */
export function signFunding(secret: string, body: string | Buffer, timestamp: number): string {
  return `t=${timestamp},v1=${mac(secret, timestamp, body)}`
}

function mac(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')
}

/** Why a signature was refused; undefined when it is valid and fresh. */
export function signatureProblem(
  secret: string,
  header: string | undefined,
  body: Buffer,
  toleranceSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | undefined {
  if (!header) return 'missing'
  const parts = new Map<string, string[]>()
  for (const part of header.split(',')) {
    const at = part.indexOf('=')
    if (at <= 0) return 'malformed'
    const key = part.slice(0, at).trim()
    parts.set(key, [...(parts.get(key) ?? []), part.slice(at + 1).trim()])
  }
  const t = parts.get('t')
  if (t?.length !== 1 || !/^[0-9]{1,12}$/.test(t[0] as string)) return 'malformed'
  const timestamp = Number(t[0])
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return 'outside the tolerance'
  const expected = Buffer.from(mac(secret, timestamp, body), 'hex')
  // Several v1 values are allowed, as during a provider's secret rotation.
  const match = (parts.get('v1') ?? []).some((v) => {
    const given = Buffer.from(v, 'hex')
    return /^[0-9a-f]{64}$/i.test(v) && given.length === expected.length && timingSafeEqual(given, expected)
  })
  return match ? undefined : 'invalid'
}
