/** The PostgreSQL SQLSTATE behind an error from Prisma (driver adapter) or pg, if any. */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as {
    code?: unknown
    meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } }
  }
  const candidates = [
    e.meta?.driverAdapterError?.cause?.originalCode,
    e.meta?.driverAdapterError?.cause?.code,
    e.meta?.code,
    e.code,
  ]
  return candidates.find((c): c is string => typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c))
}
