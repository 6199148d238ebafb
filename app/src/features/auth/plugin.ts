import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { unauthorized } from '../../platform/errors.js'
import { PasswordHasher, type PasswordHashingOptions } from './password.js'
import { type Session, SessionStore } from './sessions.js'

/** The authenticated caller, set by `app.authenticate`. */
export interface AuthUser {
  id: string
  role: string
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionStore
    passwords: PasswordHasher
    /** preHandler: accepts the session cookie or `Authorization: Bearer`; 401 otherwise. */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>
    /** The token a request presents (Bearer header first, then cookie), if any. */
    sessionTokenOf(request: FastifyRequest): string | undefined
    /** Sets the session cookie on a reply (HttpOnly, Secure, SameSite=Lax). */
    setSessionCookie(reply: FastifyReply, token: string): void
    clearSessionCookie(reply: FastifyReply): void
  }
  interface FastifyRequest {
    /** Set by `app.authenticate`; absent on public routes. */
    user?: AuthUser
    session?: Session
  }
}

/** Reads the session token from `Authorization: Bearer` (mobile) or the cookie (web). */
function tokenOf(request: FastifyRequest, cookieName: string): string | undefined {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match?.[1]
  }
  return request.cookies[cookieName]
}

/** Options of the auth plugin. */
export interface AuthOptions {
  session: Config['session']
  passwords: PasswordHashingOptions
}

async function authPlugin(app: FastifyInstance, opts: AuthOptions) {
  const { cookieName, cookieSecure, ttlSeconds } = opts.session
  app.decorate('sessions', new SessionStore(app.redis, ttlSeconds))
  app.decorate('passwords', new PasswordHasher(opts.passwords))
  app.decorateRequest('user', undefined)
  app.decorateRequest('session', undefined)

  app.decorate('sessionTokenOf', (request: FastifyRequest) => tokenOf(request, cookieName))
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = tokenOf(request, cookieName)
    if (!token) throw unauthorized()
    const session = await app.sessions.touch(token)
    if (!session) throw unauthorized('Session expired or revoked')
    request.session = session
    request.user = { id: session.userId, role: session.role }
  })

  app.decorate('setSessionCookie', (reply: FastifyReply, token: string) => {
    // No Max-Age: the server slides the expiry in Redis; a browser cookie would not follow it.
    reply.setCookie(cookieName, token, { httpOnly: true, secure: cookieSecure, sameSite: 'lax', path: '/' })
  })
  app.decorate('clearSessionCookie', (reply: FastifyReply) => {
    reply.clearCookie(cookieName, { httpOnly: true, secure: cookieSecure, sameSite: 'lax', path: '/' })
  })
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['redis', '@fastify/cookie'] })
