/** The signed-in user of routes behind `app.authenticate`, and how OpenAPI describes them. */
import type { FastifyRequest } from 'fastify'
import { unauthorized } from '../../platform/errors.js'

/** OpenAPI `security` of an authenticated route: the session as bearer token or cookie. */
export const sessionSecurity: Record<string, string[]>[] = [{ bearer: [] }, { cookie: [] }]

/** The request's user; `app.authenticate` guarantees one, so a missing user is a 401, never a crash. */
export function currentUser(request: FastifyRequest): NonNullable<FastifyRequest['user']> {
  if (!request.user) throw unauthorized()
  return request.user
}

/** The request's user id (see currentUser). */
export function currentUserId(request: FastifyRequest): string {
  return currentUser(request).id
}
