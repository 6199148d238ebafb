/**
 * The one error type routes throw. The error handler turns it into
 * `{ error: { code, message, requestId, details? } }` with its status code.
 */

/** One field-level problem of a 400 response. */
export interface FieldError {
  field: string
  message: string
}

/** An error whose status, code and message are safe to show to the client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** 400 with field-level details. */
export const badRequest = (message: string, details?: FieldError[]) =>
  new HttpError(400, 'VALIDATION_FAILED', message, details)
/** 401: missing, expired or revoked credentials. */
export const unauthorized = (message = 'Authentication required') =>
  new HttpError(401, 'UNAUTHORIZED', message)
/** 403: authenticated but not allowed. */
export const forbidden = (message = 'Forbidden') => new HttpError(403, 'FORBIDDEN', message)
/** 404. */
export const notFound = (message = 'Not found') => new HttpError(404, 'NOT_FOUND', message)
/** 409: the request conflicts with existing state (duplicate email, ...). */
export const conflict = (code: string, message: string) => new HttpError(409, code, message)
/** 429 with Retry-After in seconds. */
export const tooManyRequests = (retryAfterSeconds: number) =>
  new HttpError(429, 'RATE_LIMITED', 'Too many requests, retry later', undefined, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  })

/** A backing service (PostgreSQL, Redis) did not answer: 503, the client may retry. */
export class DependencyUnavailableError extends HttpError {
  constructor(
    readonly dependency: 'postgres' | 'redis',
    readonly reason?: unknown,
  ) {
    super(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable, retry later', undefined, {
      'retry-after': '1',
    })
    this.name = 'DependencyUnavailableError'
  }
}

/** The error envelope for an error Fastify raises before routing (bad URL encoding, overlong params). */
export function frameworkErrorBody(
  error: { statusCode?: number; code?: string; message: string },
  requestId: string,
) {
  const status =
    error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400
  return {
    status,
    body: {
      error: { code: status === 414 ? 'URI_TOO_LONG' : 'BAD_REQUEST', message: error.message, requestId },
    },
  }
}
