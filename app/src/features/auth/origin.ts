/** Same-origin checks for cookie-authenticated requests (CSRF defence in depth besides SameSite). */
import type { FastifyRequest } from 'fastify'

/** True when the request's Origin is this service's own origin or one of `allowedOrigins`. */
export function isSameOrigin(request: FastifyRequest, allowedOrigins: string[]): boolean {
  const origin = request.headers.origin
  if (!origin || origin === 'null') return false
  if (allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === request.host
  } catch {
    return false
  }
}
