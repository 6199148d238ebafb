/** Same-origin checks for cookie-authenticated requests (CSRF defence in depth besides SameSite). */
import type { FastifyRequest } from 'fastify'

/** True when the request's Origin is this service's own origin or one of `allowedOrigins`. */
export function isSameOrigin(request: FastifyRequest, allowedOrigins: string[]): boolean {
  const origin = request.headers.origin
  if (!origin || origin === 'null') return false
  if (allowedOrigins.includes(origin)) return true
  try {
    // Both through URL, so a default port (":443", ":80") compares equal to none.
    return new URL(origin).origin === new URL(`${request.protocol}://${request.host}`).origin
  } catch {
    return false
  }
}
