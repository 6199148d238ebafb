/**
 * Idempotency records answer retries of the same request; kept forever they grow with every
 * transaction. Records older than the retention are deleted in bounded batches, so one sweep
 * never holds long locks. A retry with an expired key is a new request, as with card networks.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { PrismaClient } from '../../generated/prisma/client.js'

/** Deletes idempotency records older than `retentionHours`, `batchSize` at a time; returns the count. */
export async function sweepIdempotencyKeys(
  db: PrismaClient,
  retentionHours: number,
  batchSize = 1000,
): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await db.$executeRaw`
      DELETE FROM idempotency_keys WHERE (user_id, key) IN (
        SELECT user_id, key FROM idempotency_keys
        WHERE created_at < now() - make_interval(hours => ${retentionHours}::int)
        LIMIT ${batchSize}::int
      )`
    total += deleted
    if (deleted < batchSize) return total
  }
}

/** Options of the retention plugin. */
export interface IdempotencyRetentionOptions {
  /** Records older than this are deleted. */
  retentionHours: number
  /** Time between sweeps; every instance sweeps, deleting is safe to repeat. */
  sweepIntervalMs: number
}

async function idempotencyRetention(app: FastifyInstance, opts: IdempotencyRetentionOptions) {
  let sweeping: Promise<void> | undefined
  const sweep = () => {
    if (sweeping) return
    sweeping = sweepIdempotencyKeys(app.prisma, opts.retentionHours)
      .then((deleted) => {
        if (deleted) app.log.info({ deleted }, 'expired idempotency records deleted')
      })
      .catch((err: Error) => app.log.warn({ err: { message: err.message } }, 'idempotency sweep failed'))
      .finally(() => {
        sweeping = undefined
      })
  }
  const timer = setInterval(sweep, opts.sweepIntervalMs).unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await sweeping
  })
}

export default fp(idempotencyRetention, { name: 'idempotency-retention', dependencies: ['prisma'] })
