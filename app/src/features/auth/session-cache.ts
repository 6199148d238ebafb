/**
 * An in-process copy of the sessions this instance checked recently, so a busy client's reads
 * skip the Lua script of the session check (and the profile read along with it): what remains is
 * a PING on the subscriber connection, shared by every request waiting at that moment.
 *
 * What keeps it honest:
 *  - every change to a user's sessions or cached profile is announced on a Redis channel
 *    (session-changes.ts) and drops that user's entries on every instance, and a local answer
 *    waits until every announcement made before its request began has arrived; the instance that
 *    made the change drops them itself before and after its Redis write (read-your-writes);
 *  - a check that was in flight while its user was dropped is not stored (its answer may predate
 *    the change): each read takes a ticket, and a drop moves the counter past it;
 *  - an entry lives at most `maxAgeMs`, and at most half of what was left of the session's idle
 *    expiry when it was read, so a session in use is still slid in Redis before it would expire;
 *  - while the channel is not known to work (starting, reconnecting, a lost canary) nothing is kept
 *    and every check goes to Redis, as it would without this cache.
 */
import type { Session } from './sessions.js'

/** Taken before a Redis check; `remember` refuses the answer when the user changed since. */
export interface Ticket {
  readonly seq: number
  readonly at: number
}

/** Sizes and clock of a {@link SessionCache}. */
export interface SessionCacheOptions {
  /** Longest an entry is served without asking Redis. 0 turns the cache off. */
  maxAgeMs: number
  /** Entries kept at most; the oldest goes first. @default 10000 */
  maxEntries?: number
  /** Memory the entries may take, read-along values included (estimated). @default 16 MiB */
  maxBytes?: number
  /** A monotonic clock in ms (a wall-clock step must not stretch an entry's life). @default performance.now */
  now?: () => number
}

interface Entry {
  session: Session
  /** The `alsoGet` keys the `alongside` values belong to, joined; undefined when none were read. */
  alongKeys: string | undefined
  validUntil: number
  bytes: number
}

// What an entry costs besides its read-along values: the session object, ids, map slots.
const ENTRY_OVERHEAD_BYTES = 400
/** Read-along values larger than this (a profile with big preferences) are not kept: the route reads them in Redis. */
export const MAX_ALONGSIDE_BYTES = 8192

// A Redis check takes at most its command timeout (about a second); an answer this late is not
// stored at all, which lets the per-user drop marks be pruned after it.
const TICKET_LIFETIME_MS = 5000

/** A bounded map of recently checked sessions that forgets users on demand. */
export class SessionCache {
  private readonly entries = new Map<string, Entry>()
  private readonly byUser = new Map<string, Set<string>>()
  /** When each recently changed user was last dropped (counter value and time). */
  private readonly dropped = new Map<string, Ticket>()
  private seq = 0
  private flushedAt = 0
  private live = false
  private bytes = 0
  private readonly maxEntries: number
  private readonly maxBytes: number
  private readonly now: () => number

  constructor(private readonly options: SessionCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024
    this.now = options.now ?? (() => performance.now())
  }

  /** Estimated memory the entries take. */
  get sizeBytes(): number {
    return this.bytes
  }

  /** False when configured off. */
  get enabled(): boolean {
    return this.options.maxAgeMs > 0
  }

  /** Entries held now (tests and metrics). */
  get size(): number {
    return this.entries.size
  }

  /**
   * Marks the invalidation channel as working (entries may be kept) or not (everything is dropped
   * and nothing kept). Either way, answers read before this moment are refused.
   */
  setLive(live: boolean): void {
    this.flush()
    this.live = live && this.enabled
  }

  get isLive(): boolean {
    return this.live
  }

  /** The session of `id`, if held and fresh, with `alongside` read for exactly `alongKeys`. */
  lookup(id: string, alongKeys?: string): Session | undefined {
    if (!this.live) return undefined
    const entry = this.entries.get(id)
    if (!entry) return undefined
    if (this.now() >= entry.validUntil) {
      this.remove(id, entry)
      return undefined
    }
    if (alongKeys !== undefined && entry.alongKeys !== alongKeys) return undefined
    return entry.session
  }

  /** Take before asking Redis; hand to `remember` with the answer. */
  ticket(): Ticket {
    return { seq: this.seq, at: this.now() }
  }

  /**
   * Keeps a session Redis just confirmed, unless its user (or everything) was dropped after
   * `ticket` was taken. `ttlMs`: what Redis reported left of its idle expiry. Its `alongside`
   * values are kept only with `alongKeys` (the keys they were read for) and when small.
   */
  remember(ticket: Ticket, session: Session, ttlMs: number, alongKeys?: string): void {
    if (!this.live || ticket.seq < this.flushedAt) return
    const now = this.now()
    if (now - ticket.at > TICKET_LIFETIME_MS) return
    const drop = this.dropped.get(session.userId)
    if (drop && drop.seq > ticket.seq) return
    // Both limits count from before the check was sent: Redis answered about that moment.
    const validUntil = ticket.at + Math.min(this.options.maxAgeMs, Math.floor(ttlMs / 2))
    if (validUntil <= now) return
    // Two bytes a character: what V8 takes for a string with any character beyond Latin-1.
    const alongBytes = 2 * (session.alongside ?? []).reduce((sum, value) => sum + (value?.length ?? 0), 0)
    if (alongKeys === undefined || alongBytes > MAX_ALONGSIDE_BYTES) {
      const { alongside: _notKept, ...bare } = session
      session = bare
      alongKeys = undefined
    }
    const existing = this.entries.get(session.id)
    // A read without the route's keys must not replace one that has them.
    if (existing && alongKeys === undefined && existing.alongKeys !== undefined && now < existing.validUntil)
      return
    if (existing) this.remove(session.id, existing)
    const bytes = ENTRY_OVERHEAD_BYTES + (alongKeys === undefined ? 0 : alongBytes)
    this.entries.set(session.id, { session, alongKeys, validUntil, bytes })
    this.bytes += bytes
    let ids = this.byUser.get(session.userId)
    if (!ids) {
      ids = new Set()
      this.byUser.set(session.userId, ids)
    }
    ids.add(session.id)
    this.evict(now)
  }

  /** Drops every entry of a user, and refuses answers of checks still in flight for them. */
  forget(userId: string): void {
    const mark = { seq: ++this.seq, at: this.now() }
    this.dropped.delete(userId)
    this.dropped.set(userId, mark)
    for (const id of this.byUser.get(userId) ?? []) {
      const entry = this.entries.get(id)
      if (entry) this.remove(id, entry)
    }
    this.pruneDropMarks(mark.at)
  }

  /** Drops everything and refuses every answer still in flight. */
  flush(): void {
    this.flushedAt = ++this.seq
    this.entries.clear()
    this.byUser.clear()
    this.dropped.clear()
    this.bytes = 0
  }

  // Entries are kept in the order they were stored, so the front holds the oldest: expired ones
  // go first, then the oldest while over a bound.
  private evict(now: number) {
    for (const [id, entry] of this.entries) {
      const over = this.entries.size > this.maxEntries || this.bytes > this.maxBytes
      if (!over && now < entry.validUntil) break
      this.remove(id, entry)
    }
  }

  private remove(id: string, entry: Entry) {
    this.entries.delete(id)
    this.bytes -= entry.bytes
    const ids = this.byUser.get(entry.session.userId)
    ids?.delete(id)
    if (ids?.size === 0) this.byUser.delete(entry.session.userId)
  }

  // Marks are kept in the order they were made: the oldest come first.
  private pruneDropMarks(now: number) {
    for (const [userId, mark] of this.dropped) {
      if (now - mark.at <= TICKET_LIFETIME_MS) break
      this.dropped.delete(userId)
    }
  }
}
