/**
 * Login throttling that a stranger cannot turn against the owner (OWASP "Slow Down Online
 * Guessing Attacks with Device Cookies"). A successful login gives the browser (cookie) or app
 * (`deviceToken`, sent back as `X-Device-Token`) a device token bound to that user. Failed logins
 * then count in one of two places:
 *
 *   - with a valid device token: against that device only (the owner's own typos);
 *   - without one: against the account, for every untrusted client together.
 *
 * When the untrusted budget is spent, untrusted clients are refused without a password check, while
 * the owner's known devices keep logging in. Keys hold hashes only (no email, no token in clear):
 *
 *   lock:acct:<sha256(email)>          failures from untrusted clients   TTL = window
 *   lock:dev:<sha256(user:token)>      failures from one device, for one user   TTL = window
 *   user:{<userId>}:devices            hash { sha256(token) -> expiry ms } TTL = device cookie lifetime
 *
 * One hash per user, so the erasure drops every device of the user with one DEL.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { Config } from '../../config.js'
import { DependencyUnavailableError } from '../../platform/errors.js'
import type { HashFieldWrite } from './sessions.js'

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

/** Key of the untrusted-failure counter of an account (by normalized email; erasure deletes it). */
export const accountLockKey = (email: string) => `lock:acct:${sha256(email)}`
// Bound to the user as well as the token: a token presented for another account (the attacker's own,
// whose login succeeds) must neither clear nor spend the owner's device budget.
const deviceLockKey = (userId: string, token: string) => `lock:dev:${sha256(`${userId}:${token}`)}`
/** Name of the device cookie (`__Host-` needs Secure cookies: browsers refuse the prefix otherwise). */
export const deviceCookieName = (cookieSecure: boolean) => (cookieSecure ? '__Host-device' : 'device')
/** Key of the user's known devices. */
export const devicesKey = (userId: string) => `user:{${userId}}:devices`
const DEVICE_TOKEN = /^[A-Za-z0-9_-]{43}$/
// INCR + EXPIRE NX in one step; returns the count including this attempt and the TTL left.
const CHARGE = `local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return { n, redis.call('TTL', KEYS[1]) }`
const REFUND = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`

/** Who is trying to log in, as far as throttling cares. */
export interface Attempt {
  email: string
  userId: string | undefined
  deviceToken: string | undefined
}

/** The counter an attempt is charged to. */
export type Verdict = { allowed: true; counter: string } | { allowed: false; retryAfterSeconds: number }

/** Decides whether a login attempt may check a password, charging every attempt up front. */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly config: Config['lockout'],
  ) {}

  /** Charges the attempt to its counter; whether it may go on, and which counter it was charged to. */
  async check(attempt: Attempt): Promise<Verdict> {
    return this.guard(async () => {
      const trusted =
        attempt.userId !== undefined &&
        attempt.deviceToken !== undefined &&
        DEVICE_TOKEN.test(attempt.deviceToken) &&
        Number((await this.redis.hget(devicesKey(attempt.userId), sha256(attempt.deviceToken))) ?? 0) >
          Date.now()
      const [counter, max] = trusted
        ? [
            deviceLockKey(attempt.userId as string, attempt.deviceToken as string),
            this.config.failuresPerDevice,
          ]
        : [accountLockKey(attempt.email), this.config.untrustedFailuresPerAccount]
      // Charged before the password check, atomically: parallel guesses cannot all read a count
      // under the budget. A success refunds its charge (`refund`); a failure keeps it.
      const [count, ttl] = (await this.redis.eval(CHARGE, 1, counter, String(this.config.windowSeconds))) as [
        number,
        number,
      ]
      if (count <= max) return { allowed: true, counter }
      return { allowed: false, retryAfterSeconds: ttl > 0 ? ttl : this.config.windowSeconds }
    })
  }

  /** After a correct password: gives back the attempt's charge (never below zero). */
  async refund(counter: string): Promise<void> {
    await this.guard(() => this.redis.eval(REFUND, 1, counter))
  }

  /**
   * Runs the check an attempt was charged for. When it cannot run (hashing shed under load, a
   * dependency down), the attempt was never judged: its charge is given back, or a flood that makes
   * the service shed would spend the owner's budget with their correct passwords.
   */
  async judged<T>(counter: string, check: () => Promise<T>): Promise<T> {
    try {
      return await check()
    } catch (err) {
      await this.refund(counter).catch(() => {})
      throw err
    }
  }

  /**
   * After a correct password: the device token to hand out (the one presented, or a new one) and
   * its entry in the user's known devices. The entry is written by `SessionStore.create` with the
   * session, so a login refused after the password check (an erasure or revocation meanwhile)
   * trusts nothing.
   */
  trust(userId: string, deviceToken: string | undefined): { token: string; entry: HashFieldWrite } {
    const token =
      deviceToken && DEVICE_TOKEN.test(deviceToken) ? deviceToken : randomBytes(32).toString('base64url')
    const ttlSeconds = this.config.deviceCookieDays * 86_400
    const value = String(Date.now() + ttlSeconds * 1000)
    return { token, entry: { key: devicesKey(userId), field: sha256(token), value, ttlSeconds } }
  }

  /** After a correct password: clears the device's failures (a delete brings nothing back). */
  async clearFailures(userId: string, token: string): Promise<void> {
    await this.guard(() => this.redis.del(deviceLockKey(userId, token)))
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new DependencyUnavailableError('redis', err)
    }
  }
}
