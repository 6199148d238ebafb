/**
 * Single-use, short-lived tokens sent by mail (password reset, email verification). Like session
 * tokens, a token names its user (16 bytes of the id, then 32 random bytes) and only its SHA-256 is
 * stored, in one hash per user:
 *
 *   user:{<userId>}:tokens  -> hash { <purpose>:<sha256(token)> -> JSON { exp, email?, for? } }
 *
 * `for` is the account's address when the token was issued: a token is only good while the
 * account still has that address, so a link mailed before an email change is dead after it.
 *
 * One key per user keeps the user's hash slot (Redis Cluster) and lets the erasure drop every
 * pending token, and any email address in it, with one DEL.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { DependencyUnavailableError } from '../../platform/errors.js'
import { userIdOfToken } from './sessions.js'

/** What a token is for. */
export type TokenPurpose = 'reset' | 'verify'

/** What a redeemed token carries. */
export interface RedeemedToken {
  userId: string
  /** The address a verification token proves (the new one, for an email change). */
  email?: string
  /** The account's address when the token was issued; redemption requires it to be unchanged. */
  issuedFor?: string
}

/** Key of the per-user token hash. */
export const tokensKey = (userId: string) => `user:{${userId}}:tokens`

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')

/** Issues and redeems mail tokens. */
export class AccountTokens {
  constructor(private readonly redis: Redis | Cluster) {}

  /** A new token for `purpose`, valid `ttlSeconds`; only its hash is stored. */
  async issue(
    userId: string,
    purpose: TokenPurpose,
    ttlSeconds: number,
    email?: string,
    issuedFor?: string,
  ): Promise<string> {
    const uuid = Buffer.from(userId.replaceAll('-', ''), 'hex')
    const token = Buffer.concat([uuid, randomBytes(32)]).toString('base64url')
    const value = JSON.stringify({
      exp: Date.now() + ttlSeconds * 1000,
      ...(email ? { email } : {}),
      ...(issuedFor ? { for: issuedFor } : {}),
    })
    await this.guard(() =>
      this.redis
        .multi()
        .hset(tokensKey(userId), `${purpose}:${hashOf(token)}`, value)
        // The hash lives as long as its youngest token may; older fields are checked by `exp`.
        .expire(tokensKey(userId), ttlSeconds, 'GT')
        .expire(tokensKey(userId), ttlSeconds, 'NX')
        .exec(),
    )
    return token
  }

  /** Redeems a token once: the first caller gets its content, every later one (or an expired token) undefined. */
  async redeem(token: string, purpose: TokenPurpose): Promise<RedeemedToken | undefined> {
    const userId = userIdOfToken(token)
    if (!userId) return undefined
    const field = `${purpose}:${hashOf(token)}`
    const result = await this.guard(() =>
      this.redis.multi().hget(tokensKey(userId), field).hdel(tokensKey(userId), field).exec(),
    )
    const [[, raw], [, deleted]] = result as [[unknown, string | null], [unknown, number]]
    // HDEL returning 1 means this caller, and nobody else, consumed it.
    if (raw === null || deleted !== 1) return undefined
    const data = JSON.parse(raw) as { exp: number; email?: string; for?: string }
    if (data.exp < Date.now()) return undefined
    return {
      userId,
      ...(data.email ? { email: data.email } : {}),
      ...(data.for ? { issuedFor: data.for } : {}),
    }
  }

  /** Drops every pending token of a user of one purpose (all purposes when omitted). */
  async revokeAll(userId: string, purpose?: TokenPurpose): Promise<void> {
    await this.guard(async () => {
      if (!purpose) {
        await this.redis.del(tokensKey(userId))
        return
      }
      const fields = (await this.redis.hkeys(tokensKey(userId))).filter((f) => f.startsWith(`${purpose}:`))
      if (fields.length > 0) await this.redis.hdel(tokensKey(userId), ...fields)
    })
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new DependencyUnavailableError('redis', err)
    }
  }
}
