/**
 * Password hashing with scrypt (node:crypto). A stored hash is self-describing:
 * `$scrypt$ln=17,r=8,p=1$<salt base64>$<key base64>`, so the cost can be raised later and old
 * hashes still verify (and get rehashed at the next login, see `needsRehash`).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/** scrypt cost parameters. OWASP (2025): N=2^17, r=8, p=1. */
export interface ScryptParams {
  logN: number
  r: number
  p: number
}

const KEY_LENGTH = 32
const SALT_LENGTH = 16

/** OWASP's recommended parameters. */
export const OWASP_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 }

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const N = 2 ** params.logN
  return new Promise((resolve, reject) => {
    // scrypt needs 128 * N * r bytes; Node's 32 MiB default maxmem is below OWASP's parameters.
    const maxmem = 256 * N * params.r
    scrypt(
      password.normalize('NFKC'),
      salt,
      keyLength,
      { N, r: params.r, p: params.p, maxmem },
      (err, key) => (err ? reject(err) : resolve(key)),
    )
  })
}

/** Hashes a password with fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await derive(password, salt, params, KEY_LENGTH)
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

interface ParsedHash {
  params: ScryptParams
  salt: Buffer
  key: Buffer
}

function parse(stored: string): ParsedHash | undefined {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored)
  if (!match) return undefined
  const [, ln, r, p, salt, key] = match as unknown as [string, string, string, string, string, string]
  return {
    params: { logN: Number(ln), r: Number(r), p: Number(p) },
    salt: Buffer.from(salt, 'base64'),
    key: Buffer.from(key, 'base64'),
  }
}

/** Checks a password against a stored hash in constant time; false for malformed hashes. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored)
  if (!parsed) return false
  const key = await derive(password, parsed.salt, parsed.params, parsed.key.length)
  return timingSafeEqual(key, parsed.key)
}

/** True when a stored hash uses weaker parameters than the current ones. */
export function needsRehash(stored: string, params: ScryptParams): boolean {
  const parsed = parse(stored)
  if (!parsed) return true
  return parsed.params.logN < params.logN || parsed.params.r < params.r || parsed.params.p < params.p
}

/** Hashing with the configured parameters, plus a dummy check that costs the same as a real one. */
export class PasswordHasher {
  private dummy: Promise<string> | undefined

  constructor(readonly params: ScryptParams) {}

  hash(password: string): Promise<string> {
    return hashPassword(password, this.params)
  }

  verify(password: string, stored: string): Promise<boolean> {
    return verifyPassword(password, stored)
  }

  needsRehash(stored: string): boolean {
    return needsRehash(stored, this.params)
  }

  /**
   * Burns the time of one verification and returns false: used for unknown emails so a login
   * answers in about the same time whether or not the account exists.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= hashPassword('not-a-real-password', this.params)
    await verifyPassword(password, await this.dummy)
    return false
  }
}
