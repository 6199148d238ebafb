/**
 * Sessions in Redis. The client holds an opaque token: 16 bytes of the user id followed by 32
 * random bytes (256 bits of entropy), base64url. Redis only ever sees the token's SHA-256, so a
 * dump of Redis yields no usable token.
 *
 *   sess:{<userId>}:<sha256(token)>  -> hash { ver, role, created, mfa }  TTL = idle TTL, slid on use,
 *                                       never beyond created + absolute lifetime
 *   user:{<userId>}:state            -> hash { ver, status }          the user's session generation
 *   user:{<userId>}:sessions         -> set of token hashes            (for export and clean-up)
 *
 * Why this layout: every key of one user shares the `{<userId>}` hash tag, so one Lua script can
 * read the session and the user's state atomically, on a single Redis or a Redis Cluster. A request
 * costs ONE round trip (validate, check both lifetimes, slide the idle TTL), and a route may have
 * keys of the same user read in it (GET /v1/me's cached profile: platform/cache). Revoking every session
 * (erasure, password change and reset, role change) bumps `ver`: every session of the older
 * generation fails on its next use, and a login that races the bump cannot create one (see `create`).
 *
 * `use` (every authenticated request) may answer from this instance's short-lived local copy
 * instead (session-cache.ts): every revocation here publishes the user id on the changes channel
 * in the same round trip as the write, and every instance drops that user's copy when it arrives.
 */
import { hash, randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { DependencyUnavailableError, HttpError } from '../../platform/errors.js'
import type { SessionCache } from './session-cache.js'
import type { ChangeAnnouncements } from './session-changes.js'

/** A session as seen by request handlers. */
export interface Session {
  /** SHA-256 of the token: identifies the session without being usable as one. */
  id: string
  userId: string
  role: string
  /**
   * The user had a second factor when the session began (it came from a second login step or a
   * rotation after enrolment): REQUIRE_MFA reads it instead of the database on every request.
   */
  mfa: boolean
  createdAt: Date
  expiresAt: Date
  /** Values of the keys `touch` was asked to read along (null where absent). */
  alongside?: (string | null)[]
}

/** Options of `SessionStore.touch`. */
export interface TouchOptions {
  /** Extend the idle expiry (a use of the session). @default true */
  slide?: boolean
  /**
   * Keys of the session's user to read in the same round trip (GET each). They must carry the
   * user's hash tag (`{<userId>}`) so a Redis Cluster finds them in the session's slot.
   */
  alsoGet?: (userId: string) => readonly string[]
}

/** Options of `SessionStore.use`. */
export interface UseOptions extends Pick<TouchOptions, 'alsoGet'> {
  /** Whether the values read along may be kept in the local copy (a cache entry that is current). */
  keepAlongside?: (values: (string | null)[]) => boolean
}

/** How the store announces changes, and the local copy `use` serves from. */
export interface SessionChangeOptions {
  /** Numbers messages on the channel every instance listens on (session-changes.ts). */
  announcements: ChangeAnnouncements
  local?: SessionCache
  /** Publishes an announcement again on every other master (a cluster), after the script's own. */
  broadcast?: (message: string) => Promise<void>
  /** Called when Redis refused the announcement of a revocation (the revocation itself holds). */
  onUnannounced?: (userId: string) => void
  /**
   * Resolves true once every announcement Redis sent before the call has reached `local`
   * (session-changes.ts `sync`); false when that is not known. A local answer waits for it.
   */
  sync?: () => Promise<boolean>
}

/** Lifetimes of a session. */
export interface SessionLifetimes {
  /** Idle timeout: a session unused this long ends. */
  idleSeconds: number
  /** Absolute lifetime: no session lives longer, however busy. */
  absoluteSeconds: number
}

const RANDOM_BYTES = 32
const UUID_BYTES = 16
// base64url of 48 bytes is exactly 64 characters; anything else is not one of our tokens.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{64}$/

/** Redis key names of the store (tests and the GDPR export read them). */
export const sessionKeys = {
  session: (userId: string, id: string) => `sess:{${userId}}:${id}`,
  state: (userId: string) => `user:{${userId}}:state`,
  index: (userId: string) => `user:{${userId}}:sessions`,
}

/** Hashes a token into its session id. */
export function sessionIdOf(token: string): string {
  // One-shot: half the cost of a Hash object (0.8 µs instead of 1.8 µs here), on every request.
  return hash('sha256', token, 'hex')
}

/** The user id a well-formed token names, or undefined. */
export function userIdOfToken(token: string): string | undefined {
  if (!TOKEN_PATTERN.test(token)) return undefined
  const hex = Buffer.from(token, 'base64url').subarray(0, UUID_BYTES).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** A new token naming `userId`: 16 bytes of the id, then 32 random bytes, base64url. */
export function tokenFor(userId: string): string {
  const uuid = Buffer.from(userId.replaceAll('-', ''), 'hex')
  if (uuid.length !== UUID_BYTES) throw new Error('session owner must be a UUID')
  return Buffer.concat([uuid, randomBytes(RANDOM_BYTES)]).toString('base64url')
}

// KEYS: state, session, index, then optionally one more hash of the same user (its slot). ARGV: role,
// idle ms, absolute ms, session id, expected ver ('' = any), mfa ('1' or '0'), then for that hash a
// field, its value and the hash's TTL in seconds.
// Refuses (returns false) for an erased user or when the generation moved since the caller read it;
// the extra hash is written only with the session (the login's device trust).
const CREATE = `
local st = redis.call('HMGET', KEYS[1], 'ver', 'status')
local ver = st[1] or '0'
if st[2] == 'erased' then return false end
if ARGV[5] ~= '' and ARGV[5] ~= ver then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'ver', ver)
redis.call('HSET', KEYS[2], 'ver', ver, 'role', ARGV[1], 'created', now, 'mfa', ARGV[6])
redis.call('PEXPIRE', KEYS[2], math.min(tonumber(ARGV[2]), tonumber(ARGV[3])))
redis.call('SADD', KEYS[3], ARGV[4])
-- The state and index outlive every session they cover.
redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT')
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if KEYS[4] then
  redis.call('HSET', KEYS[4], ARGV[7], ARGV[8])
  redis.call('EXPIRE', KEYS[4], ARGV[9])
end
return {ver, now}
`

// KEYS: session, state, index, then any keys of the same user to read along (GET).
// ARGV: idle ms, absolute ms, session id, slide ('1' or '0').
// Returns { role, created ms, ttl ms, mfa, value of each extra key (false when absent) } or false; a
// stale or too old session is deleted on sight.
const TOUCH = `
local s = redis.call('HMGET', KEYS[1], 'ver', 'role', 'created', 'mfa')
if not s[1] then return false end
local ver = redis.call('HGET', KEYS[2], 'ver') or '0'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = tonumber(s[3]) + tonumber(ARGV[2]) - now
if ver ~= s[1] or left <= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[3])
  return false
end
local ttl
if ARGV[4] == '1' then
  ttl = math.min(tonumber(ARGV[1]), left)
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  ttl = redis.call('PTTL', KEYS[1])
end
local out = {s[2], s[3], ttl, s[4] or '0'}
for i = 4, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out
`

// KEYS: state, index. ARGV: status to leave ('active' or 'erased'), absolute ms, changes channel,
// announcement.
// Bumps the generation (every existing session is dead from here on), announces it to every
// instance's local copy and returns { old index, 1 when announced }. The announcement goes last
// and through pcall: a refused PUBLISH (an ACL without the channel) must not leave half a revocation.
const REVOKE_ALL = `
redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[1], 'status', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local ids = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
local published = redis.pcall('PUBLISH', ARGV[3], ARGV[4])
return {ids, type(published) == 'number' and 1 or 0}
`

// KEYS: session, index. ARGV: session id, changes channel, announcement. Returns 1 when announced.
const REVOKE = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
local published = redis.pcall('PUBLISH', ARGV[2], ARGV[3])
return type(published) == 'number' and 1 or 0
`

type ScriptCall<R> = (...args: string[]) => Promise<R>

// The session keys, plus the devices hash a login writes along.
const CREATE_KEY_COUNTS = [3, 4]
// The session keys, plus up to four keys read along (a cache entry is two).
const TOUCH_KEY_COUNTS = [3, 4, 5, 6, 7]

type Scripted = (Redis | Cluster) & {
  sessionRevokeAll(...args: string[]): Promise<[string[], number]>
  sessionRevoke(...args: string[]): Promise<number>
}

/** One field of a hash of the session's user (a key in its cluster slot) and the hash's TTL. */
export interface HashFieldWrite {
  key: string
  field: string
  value: string
  ttlSeconds: number
}

/** Creates, validates (sliding the idle expiry) and revokes sessions. */
export class SessionStore {
  private readonly redis: Scripted
  private readonly local: SessionCache | undefined
  private readonly changes: SessionChangeOptions

  constructor(
    redis: Redis | Cluster,
    readonly lifetimes: SessionLifetimes,
    changes: SessionChangeOptions,
  ) {
    this.changes = changes
    this.local = changes.local
    // defineCommand sends EVALSHA and falls back to EVAL: one round trip either way. Every
    // command is defined here, before any request: an auto-pipelined batch created before a
    // definition lacks it, and adding the command to that batch throws after its callback was
    // queued (later answers shift to the wrong callers; the process can crash).
    if (!('sessionRevoke' in redis)) {
      for (const keys of CREATE_KEY_COUNTS)
        redis.defineCommand(`sessionCreate${keys}`, { numberOfKeys: keys, lua: CREATE })
      for (const keys of TOUCH_KEY_COUNTS)
        redis.defineCommand(`sessionTouch${keys}`, { numberOfKeys: keys, lua: TOUCH })
      redis.defineCommand('sessionRevokeAll', { numberOfKeys: 2, lua: REVOKE_ALL })
      redis.defineCommand('sessionRevoke', { numberOfKeys: 2, lua: REVOKE })
    }
    this.redis = redis as Scripted
  }

  /**
   * The create or touch script for `keyCount` keys. Each key count is a command of its own with a
   * fixed `numberOfKeys`, never one taking the count as its first argument: ioredis' cluster
   * auto-pipelining groups commands by their first argument, so with the count first every
   * concurrent check shared one batch, and a batch whose keys live on several masters is refused
   * whole ("All keys in the pipeline should belong to the same slots allocation group").
   */
  private script<R>(name: 'sessionCreate' | 'sessionTouch', keyCount: number): ScriptCall<R> {
    const command = (this.redis as unknown as Record<string, ScriptCall<R> | undefined>)[`${name}${keyCount}`]
    if (!command)
      throw new Error(
        `${name} is defined for ${name === 'sessionCreate' ? CREATE_KEY_COUNTS : TOUCH_KEY_COUNTS} keys, not ${keyCount}`,
      )
    return (...args) => command.apply(this.redis, args)
  }

  /** This instance's local copy of recent session checks, if configured (tests read it). */
  get localCopy(): SessionCache | undefined {
    return this.local
  }

  private get idleMs() {
    return String(this.lifetimes.idleSeconds * 1000)
  }
  private get absoluteMs() {
    return String(this.lifetimes.absoluteSeconds * 1000)
  }

  /** The user's current session generation; pass it to `create` to refuse a login that raced a revocation. */
  async generation(userId: string): Promise<string> {
    return this.guard(async () => (await this.redis.hget(sessionKeys.state(userId), 'ver')) ?? '0')
  }

  /**
   * Starts a session and returns its token (never stored). Throws a 401 when the user is erased or
   * their sessions were revoked after `expectedGeneration` was read. `mfa`: the user has a second
   * factor now (see `Session.mfa`). `alongside`: a hash field of the same user written in the same
   * step, only when the session is created (a refused login writes nothing).
   */
  async create(
    userId: string,
    role: string,
    expectedGeneration?: string,
    { mfa = false, alongside }: { mfa?: boolean; alongside?: HashFieldWrite } = {},
  ): Promise<{ token: string; session: Session }> {
    const token = tokenFor(userId)
    const id = sessionIdOf(token)
    const keys = [sessionKeys.state(userId), sessionKeys.session(userId, id), sessionKeys.index(userId)]
    if (alongside) keys.push(alongside.key)
    const result = await this.guard(() =>
      this.script<[string, number] | null>('sessionCreate', keys.length)(
        ...keys,
        role,
        this.idleMs,
        this.absoluteMs,
        id,
        expectedGeneration ?? '',
        mfa ? '1' : '0',
        ...(alongside ? [alongside.field, alongside.value, String(alongside.ttlSeconds)] : []),
      ),
    )
    if (!result) throw new HttpError(401, 'INVALID_CREDENTIALS', 'Invalid email or password')
    const createdAt = new Date(Number(result[1]))
    const expiresAt = new Date(
      Math.min(Date.now() + this.lifetimes.idleSeconds * 1000, createdAt.getTime() + Number(this.absoluteMs)),
    )
    return { token, session: { id, userId, role, mfa, createdAt, expiresAt } }
  }

  /**
   * Returns the live session of a token, or undefined: one Redis round trip that checks the user's
   * generation and both lifetimes and, unless `slide` is false, extends the idle expiry. Keys named
   * by `alsoGet` (the user's own, in the `{<userId>}` hash slot) are read in the same round trip;
   * their values are the session's `alongside`, in order.
   */
  async touch(token: string, { slide = true, alsoGet }: TouchOptions = {}): Promise<Session | undefined> {
    const userId = userIdOfToken(token)
    if (!userId) return undefined
    return (await this.check(userId, sessionIdOf(token), slide, alsoGet?.(userId)))?.session
  }

  /**
   * The session of a request: what `touch` answers (sliding it), served from this instance's local
   * copy while that holds a fresh entry (session-cache.ts). Revocations and profile writes made on
   * any instance reach the copy through the changes channel; a use served locally does not slide
   * the idle expiry, the next one after the entry's short life does.
   */
  async use(token: string, { alsoGet, keepAlongside }: UseOptions = {}): Promise<Session | undefined> {
    const local = this.local
    if (!local?.isLive) return this.touch(token, { alsoGet })
    const userId = userIdOfToken(token)
    if (!userId) return undefined
    const id = sessionIdOf(token)
    const extra = alsoGet?.(userId)
    const alongKeys = extra?.join('\n')
    if (local.lookup(id, alongKeys) && (await this.changes.sync?.())) {
      // A revocation that returned anywhere before this request began has been heard by now.
      const hit = local.lookup(id, alongKeys)
      if (hit) return hit
    }
    const ticket = local.ticket()
    const checked = await this.check(userId, id, true, extra)
    if (!checked) return undefined
    const { session, ttl } = checked
    const current = session.alongside !== undefined && (keepAlongside?.(session.alongside) ?? true)
    local.remember(ticket, session, ttl, current ? alongKeys : undefined)
    return session
  }

  private async check(
    userId: string,
    id: string,
    slide: boolean,
    extra: readonly string[] = [],
  ): Promise<{ session: Session; ttl: number } | undefined> {
    const result = await this.guard(() =>
      this.script<[string, string, number, string, ...(string | null)[]] | null>(
        'sessionTouch',
        3 + extra.length,
      )(
        sessionKeys.session(userId, id),
        sessionKeys.state(userId),
        sessionKeys.index(userId),
        ...extra,
        this.idleMs,
        this.absoluteMs,
        id,
        slide ? '1' : '0',
      ),
    )
    if (!result) return undefined
    const [role, created, ttl, mfa, ...alongside] = result
    const session: Session = {
      id,
      userId,
      role,
      mfa: mfa === '1',
      createdAt: new Date(Number(created)),
      expiresAt: new Date(Date.now() + Number(ttl)),
      ...(extra.length > 0 ? { alongside } : {}),
    }
    return { session, ttl: Number(ttl) }
  }

  /**
   * Drops a user's local entries before `work` changes them in Redis (no local answer while it
   * runs) and again after (whatever a check ordered before the write stored meanwhile).
   */
  private async changing<T>(userId: string, work: () => Promise<T>): Promise<T> {
    this.local?.forget(userId)
    try {
      return await work()
    } finally {
      this.local?.forget(userId)
    }
  }

  /** Ends one session. */
  async revoke(session: Pick<Session, 'id' | 'userId'>): Promise<void> {
    await this.changing(session.userId, () =>
      this.guard(async () => {
        const { channel } = this.changes.announcements
        const { message } = this.changes.announcements.next(session.userId)
        const announced = await this.redis.sessionRevoke(
          sessionKeys.session(session.userId, session.id),
          sessionKeys.index(session.userId),
          session.id,
          channel,
          message,
        )
        if (announced !== 1) this.changes.onUnannounced?.(session.userId)
        await this.changes.broadcast?.(message)
      }),
    )
  }

  /**
   * Ends every session of a user at once (the generation bump is atomic: a concurrent request or
   * login cannot keep one) and returns how many were live. `erased` also refuses every later login
   * until `reopen`.
   */
  async revokeAll(userId: string, { erased = false } = {}): Promise<number> {
    return this.changing(userId, () =>
      this.guard(async () => {
        const { message } = this.changes.announcements.next(userId)
        const [ids, announced] = await this.redis.sessionRevokeAll(
          sessionKeys.state(userId),
          sessionKeys.index(userId),
          erased ? 'erased' : 'active',
          this.absoluteMs,
          this.changes.announcements.channel,
          message,
        )
        if (announced !== 1) this.changes.onUnannounced?.(userId)
        await this.changes.broadcast?.(message)
        if (ids.length === 0) return 0
        return this.redis.del(...ids.map((id) => sessionKeys.session(userId, id)))
      }),
    )
  }

  /** Lets an account marked erased log in again (an erasure that failed before touching the database). */
  async reopen(userId: string): Promise<void> {
    await this.guard(() => this.redis.hset(sessionKeys.state(userId), 'status', 'active'))
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new DependencyUnavailableError('redis', err)
    }
  }
}
