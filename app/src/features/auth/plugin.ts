import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import type { PrefetchedEntry } from '../../platform/cache/cache.js'
import { forbidden, unauthorized } from '../../platform/errors.js'
import { isSameOrigin } from '../../platform/origin.js'
import { metrics } from '../../telemetry/metrics.js'
import { localSessions } from './local-sessions.js'
import { PasswordHasher, type PasswordHashingOptions } from './password.js'
import { type Session, SessionStore, type UseOptions } from './sessions.js'

/** The authenticated caller, set by `app.authenticate`. */
export interface AuthUser {
  id: string
  role: string
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionStore
    passwords: PasswordHasher
    /**
     * onRequest hook: accepts the session cookie or `Authorization: Bearer`; 401 otherwise. Runs at
     * most once per request (the protected scope and a route may both name it).
     */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>
    /** The token a request presents (Bearer header first, then cookie), if any. */
    sessionTokenOf(request: FastifyRequest): string | undefined
    /** Sets the session cookie on a reply (HttpOnly, Secure, SameSite=Lax, `__Host-` by default). */
    setSessionCookie(reply: FastifyReply, token: string): void
    clearSessionCookie(reply: FastifyReply): void
  }
  interface FastifyRequest {
    /** Set by `app.authenticate`; absent on public routes. */
    user?: AuthUser
    session?: Session
    /** The cache entry the route's `readAlongSession` names, as the session check read it. */
    prefetched?: PrefetchedEntry
  }
  interface FastifyContextConfig {
    /**
     * A cache entry of the signed-in user that the route reads on every request: the session
     * check reads it in its own Redis round trip (the namespace must carry the user's hash tag,
     * like `cacheNs.profile`), and the route passes `request.prefetched` to `app.cache.getOrLoad`.
     */
    readAlongSession?: UserCacheEntry
  }
}

/** A cache entry named by the signed-in user. */
export interface UserCacheEntry {
  ns: (userId: string) => string
  key: string
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** A read outside the admin API: its session check may be answered by the local copy. */
function mayUseLocalCopy(request: FastifyRequest): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    !request.routeOptions.url?.startsWith('/v1/admin')
  )
}

/** Where a request's token came from. */
function credentialOf(
  request: FastifyRequest,
  cookieName: string,
): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match?.[1] ? { token: match[1], via: 'bearer' } : undefined
  }
  const cookie = request.cookies[cookieName]
  return cookie ? { token: cookie, via: 'cookie' } : undefined
}

/**
 * A browser sends cookies on requests other sites start. A state-changing request authenticated by
 * cookie must therefore prove it came from our own pages: a JSON body (a cross-site page cannot send
 * one without a CORS preflight this service never grants) or an Origin header naming us.
 */
function assertNotCrossSite(request: FastifyRequest, allowedOrigins: string[]) {
  if (SAFE_METHODS.has(request.method)) return
  const type = request.headers['content-type']
  if (type && /^application\/json\s*(;|$)/i.test(type)) return
  if (isSameOrigin(request, allowedOrigins)) return
  throw forbidden('Cross-site request refused: send a JSON body or an Origin header of an allowed origin')
}

/** Options of the auth plugin. */
export interface AuthOptions {
  session: Config['session']
  passwords: PasswordHashingOptions
  /** For the subscriber of the session changes channel. */
  redis: Config['redis']
}

async function authPlugin(app: FastifyInstance, opts: AuthOptions) {
  const { cookieName, cookieSecure, idleSeconds, absoluteSeconds, allowedOrigins, localCacheSeconds } =
    opts.session
  const changes = localSessions(app, opts.redis, localCacheSeconds)
  app.decorate('sessions', new SessionStore(app.redis, { idleSeconds, absoluteSeconds }, changes))
  const passwords = new PasswordHasher(opts.passwords)
  app.decorate('passwords', passwords)
  const unobserve = metrics.hashQueue(() => ({
    waiting: passwords.limiter.queueDepth,
    active: passwords.limiter.active,
  }))
  app.addHook('onClose', async () => unobserve())
  app.decorateRequest('user', undefined)
  app.decorateRequest('session', undefined)
  app.decorateRequest('prefetched', undefined)

  app.decorate('sessionTokenOf', (request: FastifyRequest) => credentialOf(request, cookieName)?.token)
  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (request.user) return
    const credential = credentialOf(request, cookieName)
    if (!credential) throw unauthorized()
    const along = request.routeOptions.config.readAlongSession
    const entryKeys = along && ((userId: string) => app.cache.entryKeys(along.ns(userId), along.key))
    // Writes and admin routes always ask Redis: a revocation still on its way to this instance
    // may let a read through for that moment, never a money movement or an admin action.
    const options: UseOptions = entryKeys
      ? {
          alsoGet: entryKeys,
          keepAlongside: ([version = null, raw = null]) => app.cache.isCurrent(version, raw),
        }
      : {}
    const session = mayUseLocalCopy(request)
      ? await app.sessions.use(credential.token, options)
      : await app.sessions.touch(credential.token, options)
    if (!session) throw unauthorized('Session expired or revoked')
    if (credential.via === 'cookie') assertNotCrossSite(request, allowedOrigins)
    request.session = session
    request.user = { id: session.userId, role: session.role }
    if (entryKeys && session.alongside) {
      const [version = null, raw = null] = session.alongside
      request.prefetched = { dataKey: entryKeys(session.userId)[1], version, raw }
    }
  })

  // `__Host-` cookies must be Secure, Path=/ and carry no Domain: browsers refuse them otherwise,
  // which is what pins the cookie to this exact host.
  const cookieOptions = { httpOnly: true, secure: cookieSecure, sameSite: 'lax', path: '/' } as const
  app.decorate('setSessionCookie', (reply: FastifyReply, token: string) => {
    // The browser drops the cookie when the absolute lifetime ends; the server enforces both lifetimes.
    reply.setCookie(cookieName, token, { ...cookieOptions, maxAge: absoluteSeconds })
  })
  app.decorate('clearSessionCookie', (reply: FastifyReply) => {
    reply.clearCookie(cookieName, cookieOptions)
  })
}

export default fp(authPlugin, {
  name: 'auth',
  fastify: '5.x',
  dependencies: ['redis', 'cache', '@fastify/cookie'],
})
