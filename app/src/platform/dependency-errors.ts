/**
 * Recognises "a backing service is down or slow" among the errors Prisma, pg and ioredis throw,
 * so the error handler can answer 503 instead of 500 for them.
 */

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
  meta?: { driverAdapterError?: { cause?: { kind?: string } } }
}

/** Names the dependency behind an error, or undefined when the error is something else. */
export function dependencyOf(error: unknown): 'postgres' | 'redis' | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as ErrorLike
  const name = e.name ?? ''
  const message = e.message ?? ''
  if (name.startsWith('PrismaClient')) {
    if (name === 'PrismaClientInitializationError') return 'postgres'
    if (e.code && PRISMA_CONNECTION_CODES.has(e.code)) return 'postgres'
    const kind = e.meta?.driverAdapterError?.cause?.kind
    if (kind && ADAPTER_CONNECTION_KINDS.has(kind)) return 'postgres'
    if (PG_CONNECTION_MESSAGES.some((m) => message.includes(m))) return 'postgres'
    return undefined
  }
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return 'redis'
  if (REDIS_MESSAGES.some((m) => message.includes(m))) return 'redis'
  if (PG_CONNECTION_MESSAGES.some((m) => message.includes(m))) return 'postgres'
  return undefined
}
