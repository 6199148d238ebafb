/**
 * TOTP seeds encrypted at rest in the application (AES-256-GCM), so a copy of the database (a
 * backup, a snapshot, a read through some other hole) does not hand out every account's second
 * factor. The key never reaches PostgreSQL. Stored form of `user_mfa.secret`:
 *
 *   v1:<key id>:<base64url(iv 12 bytes | ciphertext | tag 16 bytes)>
 *
 * The key id is the first 8 hex digits of the key's SHA-256: it names the key without revealing
 * it, so keys rotate without bookkeeping. Put the new key in MFA_ENCRYPTION_KEY and the previous
 * one in MFA_ENCRYPTION_KEYS_OLD; a seed under an old key (or a plaintext seed from before this
 * existed, bare base32 with no `:`) still opens, and is sealed again under the current key at its
 * next successful use (`Opened.stale`). The user id is the additional authenticated data: a sealed
 * seed copied into another user's row does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

/** The id a stored seed names its key by. */
export const keyIdOf = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8)

/** The keys of the seed cipher: `current` seals (none: seeds are stored as-is), every one opens. */
export interface SeedKeys {
  current: Buffer | undefined
  old: Buffer[]
}

/** A seed read back, and whether it should be sealed again (plaintext, or an old key). */
export interface Opened {
  seed: string
  stale: boolean
}

/** A stored seed that cannot be opened: its key is missing, or it is not what was sealed for this user. */
export class SealedSeedError extends Error {
  override name = 'SealedSeedError'
}

/** Seals and opens base32 TOTP seeds for `user_mfa.secret`. */
export class SeedCipher {
  private readonly current: { id: string; key: Buffer } | undefined
  private readonly byId = new Map<string, Buffer>()

  constructor(keys: SeedKeys) {
    for (const key of [...keys.old, ...(keys.current ? [keys.current] : [])]) this.byId.set(keyIdOf(key), key)
    this.current = keys.current ? { id: keyIdOf(keys.current), key: keys.current } : undefined
  }

  /** The stored form of `seed` for `userId`: sealed under the current key, or as-is without one. */
  seal(userId: string, seed: string): string {
    if (!this.current) return seed
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv)
    cipher.setAAD(Buffer.from(userId))
    const body = Buffer.concat([iv, cipher.update(seed, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return `${VERSION}:${this.current.id}:${body.toString('base64url')}`
  }

  /**
   * The seed behind a stored value; throws `SealedSeedError` when its key is not configured, it is
   * too short to hold an iv and a tag, or it does not authenticate (another user's, tampered with).
   */
  open(userId: string, stored: string): Opened {
    if (!stored.includes(':')) return { seed: stored, stale: this.current !== undefined }
    const [version, id, data, extra] = stored.split(':')
    const key = id === undefined ? undefined : this.byId.get(id)
    if (version !== VERSION || data === undefined || extra !== undefined || !key) {
      throw new SealedSeedError(
        `TOTP seed sealed with key ${id ?? '?'} (${version ?? '?'}), which is not configured: ` +
          'list it in MFA_ENCRYPTION_KEYS_OLD',
      )
    }
    const body = Buffer.from(data, 'base64url')
    // An empty ciphertext is no seed either; a short value would otherwise pass a partial tag.
    if (body.length <= IV_BYTES + TAG_BYTES) {
      throw new SealedSeedError(`TOTP seed under key ${id} is truncated (${body.length} bytes)`)
    }
    // authTagLength pins the tag to 16 bytes: GCM would otherwise accept a shorter (forgeable) one.
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    })
    decipher.setAAD(Buffer.from(userId))
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
    try {
      const seed = Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8')
      return { seed, stale: id !== this.current?.id }
    } catch {
      throw new SealedSeedError(
        `TOTP seed under key ${id} does not authenticate (another user's, or altered)`,
      )
    }
  }
}
