/**
 * The outbox relay: moves outbox events into persisted notifications, then publishes them on
 * Redis so whichever instance holds the user's stream can push them. Every instance runs one;
 * runs take turns under a transaction-scoped advisory lock (see RELAY_LOCK_KEY).
 */
import type { FastifyBaseLogger } from 'fastify'
import { sqlOn } from '../../db/sql.js'
import type { PrismaClient } from '../../generated/prisma/client.js'
import { metrics } from '../../telemetry/metrics.js'
import { inRootSpan } from '../../telemetry/tracing.js'

/** Options of one relay loop. */
export interface RelayOptions {
  intervalMs: number
  batchSize: number
  /** Least time from one run's start to the next while kicks keep coming (a write load). */
  kickGapMs: number
}

/**
 * Notification ids are what `Last-Event-ID` replay compares, so they must grow in commit order.
 * Two relays committing side by side could draw ids 7 and 8 and commit 8 first: a client
 * reconnecting in between would skip 7 for good. Runs therefore take turns under this lock.
 */
export const RELAY_LOCK_KEY = 7_309_001

/** One relayed notification: whose, its type, and the wire message (message.ts) as JSON. */
export interface RelayedNotification {
  userId: string
  type: string
  message: string
}

// One statement (relay_outbox, prisma/migrations/*_outbox_relay_function): take the turn, claim a
// batch, copy it into notifications, delete it, in one transaction and one round trip. A crash
// before commit leaves the events in place for the next run; none is delivered twice. Plain pg
// (db/sql.ts): under a write load the relay moves a few thousand rows a second. Rows come in id
// order; an event of a user gone or erased comes back claimed and dropped (message null).
const RELAY = 'SELECT user_id AS "userId", type, message FROM relay_outbox($1::bigint, $2::integer)'

/** Polls the outbox (and runs at once when kicked) until stopped. */
export class OutboxRelay {
  private running: Promise<void> | undefined
  private stopped = true
  private sleeping: { wake: () => void; onKick: boolean } | undefined
  private kicked = false

  constructor(
    /** Read at every run: the writer client may be swapped at run time (DR switch-over). */
    private readonly db: () => PrismaClient,
    /** Pushes one run's notifications, in id order; resolves to how many could not be pushed. */
    private readonly publish: (batch: RelayedNotification[]) => Promise<number>,
    private readonly options: RelayOptions,
    private readonly log: FastifyBaseLogger,
    /** Told of a failed run's database error (the plugin has the writer rechecked after a failover). */
    private readonly onDatabaseError: (err: unknown) => void = () => {},
  ) {}

  /** Starts the background loop. */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.running = this.loop()
  }

  /** Asks for a run now instead of at the next tick (after a write this instance made). */
  kick(): void {
    this.kicked = true
    if (this.sleeping?.onKick) this.sleeping.wake()
  }

  /** Stops the loop and waits for the batch in progress, so pools can close after it. */
  async stop(): Promise<void> {
    this.stopped = true
    this.sleeping?.wake()
    await this.running
  }

  /** Relays one batch; returns how many events it moved. */
  async runOnce(): Promise<number> {
    const started = Date.now()
    const claimed = await sqlOn(this.db())<{ userId: string; type: string; message: string | null }>(RELAY, [
      RELAY_LOCK_KEY,
      this.options.batchSize,
    ]).catch((err: unknown) => {
      this.onDatabaseError(err)
      throw err
    })
    if (claimed.length === 0) return 0
    const rows = claimed.filter((row): row is RelayedNotification => row.message !== null)
    metrics.relayed(rows.length)
    // A trace only for runs that moved something: an idle poll twice a second is not worth one.
    const attributes = { 'outbox.batch.size': rows.length }
    return inRootSpan('outbox.relay', { attributes, startTime: started }, async (span) => {
      // Persisted first, pushed second: if Redis is away the client still gets them by replay.
      const failed = rows.length > 0 ? await this.publish(rows) : 0
      if (failed > 0) {
        span.setAttribute('outbox.publish.failed', failed)
        this.log.warn({ failed }, 'notifications persisted but not published; clients replay them')
      }
      // Claimed, dropped ones included: a full batch means more may be waiting.
      return claimed.length
    })
  }

  private async loop(): Promise<void> {
    let failures = 0
    while (!this.stopped) {
      this.kicked = false
      const started = Date.now()
      let moved = 0
      try {
        moved = await this.runOnce()
        failures = 0
      } catch (err) {
        failures++
        this.log.warn({ err: { message: (err as Error).message } }, 'outbox relay run failed')
      }
      if (this.stopped) break
      if (failures === 0 && moved === this.options.batchSize) continue
      if (failures > 0 || !this.kicked) {
        const pause = failures
          ? Math.min(this.options.intervalMs * 2 ** failures, 10_000)
          : this.options.intervalMs
        await this.sleep(pause, true)
      }
      // Under a write load every write kicks. Back to back, runs carried a few events each, and
      // each is a commit of its own: the relay cost the transfer route a third of its throughput.
      // Runs start at least this far apart, so one carries a few dozen; a write after a quiet
      // spell is relayed at once (the gap is long past).
      await this.sleep(this.options.kickGapMs - (Date.now() - started), false)
    }
  }

  /** Waits `ms`, or less when stopped (or kicked, with `onKick`). */
  private async sleep(ms: number, onKick: boolean): Promise<void> {
    if (ms <= 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(wake, ms)
      function wake() {
        clearTimeout(timer)
        resolve()
      }
      this.sleeping = { wake, onKick }
    })
    this.sleeping = undefined
  }
}
