/** Schemas shared by routes: the error envelope and small building blocks. */
import { type Static, Type } from 'typebox'

/** `{ error: { code, message, requestId, details? } }`: every non-2xx answer. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ examples: ['VALIDATION_FAILED'] }),
      message: Type.String(),
      requestId: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    }),
  },
  { $id: 'ErrorResponse', description: 'Error envelope shared by every route' },
)
export type ErrorResponse = Static<typeof ErrorResponse>

/** A reference to the shared error schema, for `response: { 4xx: errorRef }`. */
export const errorRef = Type.Unsafe<ErrorResponse>(Type.Ref('ErrorResponse'))

/** The error responses most authenticated routes can give. */
export const authErrors = { 401: errorRef, 429: errorRef, 503: errorRef } as const

/** A UUID in any case (PostgreSQL accepts both); stricter than a length check, so casts never fail. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const UUID_RE = new RegExp(UUID_PATTERN)

/** True for a string PostgreSQL's uuid type accepts in the canonical 8-4-4-4-12 form. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value)

// The instants every layer below agrees on: JavaScript Date, Prisma and PostgreSQL all handle
// years 1 to 9999 without sign or overflow tricks; year 0, six-digit years and leap seconds
// (23:59:60, which Date cannot hold) are refused at validation instead of failing in a query.
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

function validDay(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false
  // Date.UTC(year, month, 0) is the last day of `month`; years below 100 need setUTCFullYear.
  const last = new Date(0)
  last.setUTCFullYear(year, month, 0)
  return day <= last.getUTCDate()
}

/** `YYYY-MM-DD`, a real calendar day in years 1-9999. */
export function isStrictDate(value: string): boolean {
  const m = DATE_RE.exec(value)
  return m !== null && validDay(Number(m[1]), Number(m[2]), Number(m[3]))
}

/** RFC 3339 date-time in years 1-9999, without leap seconds, that `new Date()` reads as the same instant. */
export function isStrictDateTime(value: string): boolean {
  const m = DATE_TIME_RE.exec(value)
  if (!m || !validDay(Number(m[1]), Number(m[2]), Number(m[3]))) return false
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return false
  const offset = m[8] as string
  if (offset.length === 6 && (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4)) > 59)) return false
  // An offset can push year 1 or 9999 over the edge of what the database and Date agree on.
  return isInRange(new Date(value).getTime())
}

const MIN_TIME = (() => {
  const d = new Date(0)
  d.setUTCFullYear(1, 0, 1)
  return d.getTime()
})()
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** True for an instant in years 1-9999 UTC. */
export function isInRange(time: number): boolean {
  return Number.isFinite(time) && time >= MIN_TIME && time <= MAX_TIME
}

const INT64_MAX = 2n ** 63n - 1n

/** Decimal digits of a positive PostgreSQL bigint (1 to 2^63-1), without leading zeros. */
export function isInt64Id(value: string): boolean {
  return /^[1-9][0-9]{0,18}$/.test(value) && BigInt(value) <= INT64_MAX
}

/** A bigserial id in a URL, query or header: 9223372036854775808 is a 400, not a failed query. */
export const Int64Id = Type.String({
  format: 'int64-id',
  description: 'Positive 64-bit integer id, as digits',
})

/** Ajv plugin: strict `date` and `date-time` (replacing ajv-formats') and `int64-id`. */
export function strictFormats(ajv: { addFormat(name: string, format: unknown): unknown }): void {
  ajv.addFormat('date', { type: 'string', validate: isStrictDate })
  ajv.addFormat('date-time', { type: 'string', validate: isStrictDateTime })
  ajv.addFormat('int64-id', { type: 'string', validate: isInt64Id })
}
