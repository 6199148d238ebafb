/**
 * Password hashing with argon2id (node:crypto, Node 24). A stored hash is self-describing in the
 * PHC string format, `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>` (unpadded base64), so the cost
 * can be raised later and old hashes still verify. Hashes of the previous scheme,
 * `$scrypt$ln=17,r=8,p=1$<salt>$<key>`, still verify and are rehashed at the next login
 * (`needsRehash`). Every hash and verification runs through a `HashingLimiter`, so a login storm
 * queues or sheds instead of taking every core.
 */
import { argon2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { HashingLimiter, type HashingLimits } from './hashing-limiter.js'

/** argon2id cost parameters (memory in KiB). OWASP's first recommendation: m=19 MiB, t=2, p=1. */
export interface Argon2Params {
  memoryKiB: number
  passes: number
  parallelism: number
}

/** scrypt cost parameters of the previous scheme; only verified now, never written. */
export interface ScryptParams {
  logN: number
  r: number
  p: number
}

const KEY_LENGTH = 32
const SALT_LENGTH = 16
// The PHC format's version field: Argon2 1.3, the only version Node implements.
const ARGON2_VERSION = 19

/** OWASP's first recommendation for argon2id (43 ms per hash on the benchmark machine). */
export const OWASP_ARGON2ID: Argon2Params = { memoryKiB: 19_456, passes: 2, parallelism: 1 }
/** The previous scheme's parameters (646 ms per hash on the same machine). */
export const OWASP_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 }

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '')

function deriveArgon2(password: string, salt: Buffer, params: Argon2Params, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: password.normalize('NFKC'),
        nonce: salt,
        memory: params.memoryKiB,
        passes: params.passes,
        parallelism: params.parallelism,
        tagLength: keyLength,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    )
  })
}

function deriveScrypt(password: string, salt: Buffer, params: ScryptParams, keyLength: number) {
  const N = 2 ** params.logN
  return new Promise<Buffer>((resolve, reject) => {
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

/** Hashes a password with argon2id and fresh random salt. */
export async function hashPassword(password: string, params: Argon2Params): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await deriveArgon2(password, salt, params, KEY_LENGTH)
  const { memoryKiB: m, passes: t, parallelism: p } = params
  return `$argon2id$v=${ARGON2_VERSION}$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(key)}`
}

/** Hashes with the previous scheme: only for tests and tools that need a legacy hash to upgrade. */
export async function hashPasswordScrypt(password: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await deriveScrypt(password, salt, params, KEY_LENGTH)
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

type ParsedHash =
  | { algorithm: 'argon2id'; params: Argon2Params; salt: Buffer; key: Buffer }
  | { algorithm: 'scrypt'; params: ScryptParams; salt: Buffer; key: Buffer }

const ARGON2_HASH = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/
const SCRYPT_HASH = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/

function parse(stored: string): ParsedHash | undefined {
  const argon = ARGON2_HASH.exec(stored)
  if (argon) {
    const [, v, m, t, p, salt, key] = argon as unknown as string[]
    if (Number(v) !== ARGON2_VERSION) return undefined
    return {
      algorithm: 'argon2id',
      params: { memoryKiB: Number(m), passes: Number(t), parallelism: Number(p) },
      salt: Buffer.from(salt as string, 'base64'),
      key: Buffer.from(key as string, 'base64'),
    }
  }
  const legacy = SCRYPT_HASH.exec(stored)
  if (!legacy) return undefined
  const [, ln, r, p, salt, key] = legacy as unknown as string[]
  return {
    algorithm: 'scrypt',
    params: { logN: Number(ln), r: Number(r), p: Number(p) },
    salt: Buffer.from(salt as string, 'base64'),
    key: Buffer.from(key as string, 'base64'),
  }
}

/** Checks a password against a stored hash (either scheme) in constant time; false if malformed. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored)
  if (!parsed || parsed.key.length < 16) return false
  const key =
    parsed.algorithm === 'argon2id'
      ? await deriveArgon2(password, parsed.salt, parsed.params, parsed.key.length).catch(() => undefined)
      : await deriveScrypt(password, parsed.salt, parsed.params, parsed.key.length).catch(() => undefined)
  return key !== undefined && timingSafeEqual(key, parsed.key)
}

/** True when a stored hash is not argon2id or uses weaker parameters than the current ones. */
export function needsRehash(stored: string, params: Argon2Params): boolean {
  const parsed = parse(stored)
  if (parsed?.algorithm !== 'argon2id') return true
  const old = parsed.params
  return (
    old.memoryKiB < params.memoryKiB || old.passes < params.passes || old.parallelism < params.parallelism
  )
}

/** Options of the service's hasher: the cost of new hashes and the bound on concurrent hashing. */
export interface PasswordHashingOptions {
  argon2: Argon2Params
  limits: HashingLimits
}

/** Hashing with the configured parameters through the limiter, plus an equal-cost dummy check. */
export class PasswordHasher {
  /** Bounds concurrent hashing; its `queueDepth` and `onShed` are the metrics' hooks. */
  readonly limiter: HashingLimiter
  readonly params: Argon2Params
  private dummy: Promise<string> | undefined

  constructor(options: PasswordHashingOptions) {
    this.params = options.argon2
    this.limiter = new HashingLimiter(options.limits)
  }

  /** Hashes with the current parameters; rejects with a 503 HttpError when hashing is saturated. */
  hash(password: string): Promise<string> {
    return this.limiter.run(() => hashPassword(password, this.params))
  }

  /** Verifies against a stored hash; rejects with a 503 HttpError when hashing is saturated. */
  verify(password: string, stored: string): Promise<boolean> {
    return this.limiter.run(() => verifyPassword(password, stored))
  }

  /** True when the stored hash should be replaced by one with the current parameters. */
  needsRehash(stored: string): boolean {
    return needsRehash(stored, this.params)
  }

  /**
   * Burns the time of one verification with the current algorithm and returns false: used for
   * unknown emails so a login answers in about the same time whether or not the account exists.
   */
  async verifyDummy(password: string): Promise<false> {
    // Built outside the limiter once: a shed first call must not leave a rejected promise cached.
    this.dummy ??= hashPassword('not-a-real-password', this.params)
    const dummy = await this.dummy
    await this.limiter.run(() => verifyPassword(password, dummy))
    return false
  }
}
