/**
 * Sessions in Redis. The client holds an opaque 256-bit random token; Redis only ever sees its
 * SHA-256, so a dump of Redis yields no usable token.
 *
 *   sess:<sha256(token)>   -> JSON { userId, role, createdAt }   TTL = session TTL, slid on use
 *   user-sess:<userId>     -> set of token hashes                 (for revoke-all)
 *
 * Keys of one session live in different hash slots, so every command touches a single key:
 * this works unchanged against a Redis Cluster.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { DependencyUnavailableError } from '../../platform/errors.js'

/** What a session knows about its user. */
export interface SessionData {
  userId: string
  role: string
  createdAt: string
}

/** A session as seen by request handlers. */
export interface Session extends SessionData {
  /** SHA-256 of the token: identifies the session without being usable as one. */
  id: string
  expiresAt: Date
}

const TOKEN_BYTES = 32
// base64url of 32 bytes is 43 characters; anything else is not one of our tokens.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

const sessionKey = (id: string) => `sess:${id}`
const userKey = (userId: string) => `user-sess:${userId}`

/** Hashes a token into its session id. */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Creates, looks up (sliding the expiry) and revokes sessions. */
export class SessionStore {
  constructor(
    private readonly redis: Redis | Cluster,
    readonly ttlSeconds: number,
  ) {}

  /** Starts a session and returns its token; the token is never stored. */
  async create(userId: string, role: string): Promise<{ token: string; session: Session }> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url')
    const id = sessionIdOf(token)
    const data: SessionData = { userId, role, createdAt: new Date().toISOString() }
    await this.guard(async () => {
      await this.redis.set(sessionKey(id), JSON.stringify(data), 'EX', this.ttlSeconds)
      await this.redis.sadd(userKey(userId), id)
      await this.redis.expire(userKey(userId), this.ttlSeconds)
    })
    return { token, session: { ...data, id, expiresAt: this.expiry() } }
  }

  /** Returns the live session of a token and extends it by the TTL, or undefined. */
  async touch(token: string): Promise<Session | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined
    const id = sessionIdOf(token)
    return this.guard(async () => {
      const raw = await this.redis.getex(sessionKey(id), 'EX', this.ttlSeconds)
      if (raw === null) return undefined
      const data = JSON.parse(raw) as SessionData
      await this.redis.expire(userKey(data.userId), this.ttlSeconds)
      return { ...data, id, expiresAt: this.expiry() }
    })
  }

  /** Ends one session. */
  async revoke(session: Pick<Session, 'id' | 'userId'>): Promise<void> {
    await this.guard(async () => {
      await this.redis.del(sessionKey(session.id))
      await this.redis.srem(userKey(session.userId), session.id)
    })
  }

  /** Ends every session of a user; returns how many were live. */
  async revokeAll(userId: string): Promise<number> {
    return this.guard(async () => {
      const ids = await this.redis.smembers(userKey(userId))
      // One DEL per key: the keys hash to different cluster slots.
      const deleted = await Promise.all(ids.map((id) => this.redis.del(sessionKey(id))))
      await this.redis.del(userKey(userId))
      return deleted.reduce((sum, n) => sum + n, 0)
    })
  }

  private expiry(): Date {
    return new Date(Date.now() + this.ttlSeconds * 1000)
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new DependencyUnavailableError('redis', err)
    }
  }
}
