/**
 * Browsers on the web client's origin (the static domain in AWS, the local web server) may call the
 * API with credentials; nobody else gets CORS headers. Cookie-authenticated state-changing requests
 * must come from this site or an allowed origin (CSRF): a bearer token is never sent by a browser
 * on its own, a cookie is.
 */
import fastifyCors from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { HttpError } from './errors.js'
import { isSameOrigin } from './origin.js'

/** Options of the CORS and CSRF plugin. */
export interface CorsOptions {
  /** Allowed browser origins, exactly as browsers send them (`https://static.example.com`). */
  origins: string[]
  /** Origins trusted for cookie-authenticated writes besides the service's own (a superset of `origins`). */
  csrfOrigins: string[]
  /** Name of the session cookie whose presence makes a request cookie-authenticated. */
  cookieName: string
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Response headers browsers may read on an allowed origin's answers. */
export const CORS_EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed']

/**
 * The CORS headers of a simple (not preflight) answer to `origin`, as @fastify/cors writes them
 * with the options below, for answers written before Fastify sees the request (load-shedding.ts).
 */
export function simpleCorsHeaders(
  origin: string | undefined,
  allowed: ReadonlySet<string>,
): Record<string, string> {
  if (origin === undefined || !allowed.has(origin)) return { vary: 'Origin' }
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', '),
    vary: 'Origin',
  }
}

/** Why a request is refused as cross-site request forgery, or undefined when it may proceed. */
export function csrfProblem(request: FastifyRequest, opts: CorsOptions): string | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined
  // Only the cookie rides along on a forged request; an Authorization header needs the caller's code.
  if (request.headers.authorization || !request.cookies?.[opts.cookieName]) return undefined
  const origin = request.headers.origin
  if (isSameOrigin(request, opts.csrfOrigins)) return undefined
  const site = request.headers['sec-fetch-site']
  if (site === 'same-origin' || site === 'none') return undefined
  if (site) return `cross-site request (${site}) from ${origin ?? 'an unknown origin'}`
  // No Fetch Metadata (older browser or a non-browser client): judge by Origin when present.
  return origin ? `request from origin ${origin}` : undefined
}

async function corsPlugin(app: FastifyInstance, opts: CorsOptions) {
  const allowed = new Set(opts.origins)
  await app.register(fastifyCors, {
    // Reflect only listed origins; credentials are allowed, so a wildcard would be refused anyway.
    origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: CORS_EXPOSED_HEADERS,
    // Browsers cap this (Chromium at 2 h); 10 minutes keeps preflights rare on a busy page.
    maxAge: 600,
  })
  app.addHook('onRequest', (request, _reply, done) => {
    const problem = csrfProblem(request, opts)
    if (!problem) return done()
    request.log.warn({ origin: request.headers.origin, problem }, 'csrf check refused a request')
    done(new HttpError(403, 'CSRF_REJECTED', 'Cross-site request refused; send it from the web client'))
  })
}

export default fp(corsPlugin, { name: 'cors', fastify: '5.x', dependencies: ['@fastify/cookie'] })
