/**
 * The second login step's challenge: what a correct password earns when the account has MFA, in
 * place of a session. Like a session token it names its user (features/auth/sessions.ts) and Redis
 * only sees its SHA-256:
 *
 *   user:{<userId>}:mfa:<sha256(token)> -> hash { ip, device, gen, tries }   TTL = MFA_CHALLENGE_TTL_SECONDS
 *
 * It is bound to the client that passed the password (same IP, same device token or none), to the
 * session generation read then (a password reset or revoke-all in between kills it, because the
 * session would be refused), and to a budget of wrong codes: every attempt is charged before the
 * code is checked, so parallel guesses cannot overrun it, and the challenge is deleted when the
 * budget is spent. A successful step deletes it: one challenge, one session.
 */
import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { DependencyUnavailableError } from '../../platform/errors.js'
import { sessionIdOf, sessionKeys, tokenFor, userIdOfToken } from '../auth/sessions.js'

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

/** Key of one challenge. */
export const challengeKey = (userId: string, id: string) => `user:{${userId}}:mfa:${id}`

// KEYS: challenge, the user's session state. ARGV: ip, sha256(device token), attempts allowed.
// Charges an attempt atomically and returns the generation, or nil; a client other than the one
// that passed the password spends the budget too, and the attempt that exhausts it deletes the
// challenge. A challenge older than a password change or revoke-all is dead before any code is
// checked: answering it must not spend a recovery code for a session `create` would refuse.
const ATTEMPT = `
local s = redis.call('HMGET', KEYS[1], 'ip', 'device', 'gen')
if not s[1] then return false end
if s[3] ~= (redis.call('HGET', KEYS[2], 'ver') or '0') then
  redis.call('DEL', KEYS[1])
  return false
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
local max = tonumber(ARGV[3])
if s[1] ~= ARGV[1] or s[2] ~= ARGV[2] or tries > max then
  if tries >= max then redis.call('DEL', KEYS[1]) end
  return false
end
return s[3]
`

/** Who may answer a challenge. */
export interface ChallengeBinding {
  ip: string
  deviceToken: string | undefined
}

/** An open challenge. */
export interface Challenge {
  userId: string
  key: string
  /** The session generation read when the password was checked. */
  generation: string
}

/** Issues, checks and spends login challenges. */
export class MfaChallenges {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly limits: { ttlSeconds: number; maxFailures: number },
  ) {}

  /** A new challenge for `userId`; only its hash is stored. */
  async issue(
    userId: string,
    binding: ChallengeBinding,
    generation: string,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = tokenFor(userId)
    const key = challengeKey(userId, sessionIdOf(token))
    await this.guard(() =>
      this.redis
        .multi()
        .hset(key, { ip: binding.ip, device: sha256(binding.deviceToken ?? ''), gen: generation, tries: '0' })
        .expire(key, this.limits.ttlSeconds)
        .exec(),
    )
    return { token, expiresAt: new Date(Date.now() + this.limits.ttlSeconds * 1000) }
  }

  /**
   * Charges one attempt to the challenge and returns it, or undefined when it does not exist, has
   * expired, was answered from another client, has no attempts left, or predates a revocation of
   * the user's sessions (then it is deleted).
   */
  async attempt(token: string, binding: ChallengeBinding): Promise<Challenge | undefined> {
    const userId = userIdOfToken(token)
    if (!userId) return undefined
    const key = challengeKey(userId, sessionIdOf(token))
    const generation = (await this.guard(() =>
      this.redis.eval(
        ATTEMPT,
        2,
        key,
        // Same {userId} hash tag as the challenge: one slot on a cluster.
        sessionKeys.state(userId),
        binding.ip,
        sha256(binding.deviceToken ?? ''),
        String(this.limits.maxFailures),
      ),
    )) as string | null
    return generation === null ? undefined : { userId, key, generation }
  }

  /** After a wrong code: ends the challenge once its budget is spent. */
  async failed(challenge: Challenge): Promise<void> {
    await this.guard(async () => {
      const tries = Number((await this.redis.hget(challenge.key, 'tries')) ?? this.limits.maxFailures)
      if (tries >= this.limits.maxFailures) await this.redis.del(challenge.key)
    })
  }

  /** After a right code: spends the challenge; false when a concurrent request already did. */
  async consume(challenge: Challenge): Promise<boolean> {
    return this.guard(async () => (await this.redis.del(challenge.key)) === 1)
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new DependencyUnavailableError('redis', err)
    }
  }
}
