/**
 * Wrong second-factor answers per account, over a day. The per-challenge budget and the login
 * throttle slow a guesser who holds the password, but never stop one (10 codes per 15 minutes is
 * 960 a day); this count does, and tells the owner:
 *
 *   user:{<userId>}:mfa-failures -> integer   TTL = 24 h from the first wrong answer
 *
 * Past `MFA_MAX_FAILURES_PER_DAY` the account takes no authenticator codes until the window ends,
 * a password reset, or a sign-in with a recovery code (which a guesser cannot realistically hit).
 */
import type { Cluster, Redis } from 'ioredis'
import { DependencyUnavailableError } from '../../platform/errors.js'

const WINDOW_SECONDS = 86_400

/** Key of one account's count. */
export const failuresKey = (userId: string) => `user:{${userId}}:mfa-failures`

/** Counts wrong second-factor answers per account and day. */
export class MfaFailures {
  constructor(
    private readonly redis: Redis | Cluster,
    /** Wrong answers a day before codes are refused. */
    readonly maxPerDay: number,
  ) {}

  /** Whether the account has spent its day's budget of wrong answers. */
  async exhausted(userId: string): Promise<boolean> {
    const count = await this.guard(() => this.redis.get(failuresKey(userId)))
    return Number(count ?? 0) >= this.maxPerDay
  }

  /** Records one wrong answer; true exactly once per window, when the budget is just spent. */
  async record(userId: string): Promise<boolean> {
    const key = failuresKey(userId)
    const result = await this.guard(() =>
      // The window starts at the first wrong answer; later ones do not extend it (NX).
      this.redis.multi().incr(key).expire(key, WINDOW_SECONDS, 'NX').exec(),
    )
    return Number(result?.[0]?.[1]) === this.maxPerDay
  }

  /** Forgets the account's wrong answers (a successful sign-in or a password reset). */
  async clear(userId: string): Promise<void> {
    await this.guard(() => this.redis.del(failuresKey(userId)))
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new DependencyUnavailableError('redis', err)
    }
  }
}
