/** What the in-service probe (db-probe.ts) reports over IPC. */

/** Counts of one route (`METHOD /path`), or of work outside any request. */
export interface RouteCounts {
  requests: number
  /** pg queries (one round trip each) issued before the response was finished. */
  dbBeforeResponse: number
  /** pg queries issued by the request's own code after the response went out (onResponse hooks). */
  dbAfterResponse: number
  /** Queries before the response per pool (`application_name`: blueprint-writer / blueprint-replica). */
  dbByTarget: Record<string, number>
  /**
   * Queries that ran inside an explicit transaction after its BEGIN, COMMIT included: PostgreSQL
   * counts the whole block as one transaction, so these are not transactions of their own.
   */
  dbInTransaction: number
  /** New PostgreSQL connections opened (each costs several round trips). */
  connects: number
  redisCommands: number
  /** `before|after: <first words of the SQL>` -> count. */
  statements: Record<string, number>
}

/** One snapshot of the probe's counters and the service's memory. */
export interface ProbeSnapshot {
  routes: Record<string, RouteCounts>
  /** Work issued outside any HTTP request: outbox relay, topology checks, start-up. */
  background: RouteCounts
  memory: NodeJS.MemoryUsage
}
