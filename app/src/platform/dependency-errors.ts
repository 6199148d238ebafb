/**
 * Recognises "a backing service is down or slow" among the errors Prisma, pg and ioredis throw,
 * so the error handler can answer 503 instead of 500 for them, and "a write conflict the retries
 * did not resolve", answered 409. Prisma (through its pg driver adapter) and plain SQL
 * (db/sql.ts) see the same PostgreSQL errors and are classified by the same rules.
 */
import { SqlError } from '../db/sql.js'

// Prisma error codes meaning "could not talk to the database" rather than "the query was wrong".
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037'])
const ADAPTER_CONNECTION_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
])
// Socket errors of a connection attempt or of a connection that broke (pg passes them through).
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
/**
 * SQLSTATEs of a server that cannot take the work now, whatever the statement: connection
 * exceptions (class 08), too many connections and other exhausted resources (class 53), an
 * administrator or crash shutdown or a server still starting (57P01-57P03), a statement timeout
 * (57014), and a read-only transaction: the writer became a standby (DR promotion elsewhere).
 */
function isUnavailableState(state: string): boolean {
  return (
    state.startsWith('08') ||
    state.startsWith('53') ||
    state === '57P01' ||
    state === '57P02' ||
    state === '57P03' ||
    state === '57014' ||
    state === '25006'
  )
}
/** Serialization failure and deadlock: the database rolled back; the request may be sent again. */
const CONFLICT_STATES = new Set(['40001', '40P01'])
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'canceling statement due to statement timeout',
]
const REDIS_MESSAGES = [
  "Stream isn't writeable",
  'Command timed out',
  'Connection is closed',
  'Reached the max retries per request limit',
  'Failed to refresh slots cache',
  'None of startup nodes is available',
  'CLUSTERDOWN',
]

type ErrorLike = {
  name?: string
  code?: string
  message?: string
  meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } }
}

/** Names the dependency behind an error, or undefined when the error is something else. */
export function dependencyOf(error: unknown): 'postgres' | 'redis' | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as ErrorLike
  const name = e.name ?? ''
  const message = e.message ?? ''
  if (error instanceof SqlError) {
    // A server error carries a severity; anything else is pg failing to reach or keep the server
    // (socket errors, connect and read timeouts, a connection that broke or was closed under it).
    const fromServer = typeof (error.cause as { severity?: unknown } | undefined)?.severity === 'string'
    if (!fromServer || SOCKET_CODES.has(error.code ?? '')) return 'postgres'
    return isUnavailableState(error.code ?? '') ? 'postgres' : undefined
  }
  if (name.startsWith('PrismaClient')) {
    if (name === 'PrismaClientInitializationError') return 'postgres'
    if (e.code && PRISMA_CONNECTION_CODES.has(e.code)) return 'postgres'
    const cause = e.meta?.driverAdapterError?.cause
    if (cause?.kind && ADAPTER_CONNECTION_KINDS.has(cause.kind)) return 'postgres'
    if (cause?.originalCode && isUnavailableState(cause.originalCode)) return 'postgres'
    if (PG_CONNECTION_MESSAGES.some((m) => message.includes(m))) return 'postgres'
    return undefined
  }
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return 'redis'
  if (REDIS_MESSAGES.some((m) => message.includes(m))) return 'redis'
  if (PG_CONNECTION_MESSAGES.some((m) => message.includes(m))) return 'postgres'
  return undefined
}

/** True for a serialization failure or deadlock (plain pg or Prisma) that reached the error handler. */
export function isWriteConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  if (error instanceof SqlError) return CONFLICT_STATES.has(error.code ?? '')
  const e = error as ErrorLike
  if (!(e.name ?? '').startsWith('PrismaClient')) return false
  const cause = e.meta?.driverAdapterError?.cause
  return (
    e.code === 'P2034' ||
    cause?.kind === 'TransactionWriteConflict' ||
    CONFLICT_STATES.has(cause?.originalCode ?? '')
  )
}
