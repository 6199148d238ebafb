/**
 * Live pg pools of this process and how many queries wait for one of their connections: the
 * load shedder's "pool wait" signal. A pool is forgotten once it has ended (a retired writer).
 */
import type pg from 'pg'

const pools = new Set<pg.Pool>()

/** Registers a pool whose waiting clients count towards `poolWaiting()`. */
export function trackPool(pool: pg.Pool): pg.Pool {
  pools.add(pool)
  return pool
}

/** Callers waiting for a connection, summed over every live pool. */
export function poolWaiting(): number {
  let waiting = 0
  for (const pool of pools) {
    if (pool.ended) pools.delete(pool)
    else waiting += pool.waitingCount
  }
  return waiting
}
