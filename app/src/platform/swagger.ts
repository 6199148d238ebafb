import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { PublicUser } from '../features/auth/schemas.js'
import { ErrorResponse } from './schemas.js'

/** Options of the OpenAPI plugin. */
export interface SwaggerOptions {
  cookieName: string
  /** Serve the API reference UI at /docs; the document at /docs/json is always served. */
  ui: boolean
  /** Base URL clients call (the `servers` entry); unset: the path-relative `/`. */
  publicUrl?: string | undefined
}

/**
 * Names of operations a generated client exposes (`client.GET('/v1/accounts')` in openapi-fetch,
 * `api.listAccounts()` in other generators). Routes missing here get a derived name, so a new route
 * never ships without one; adding it here only makes the name nicer. Renaming one breaks clients.
 */
export const OPERATION_IDS: Record<string, string> = {
  'GET /health/live': 'getLiveness',
  'GET /health/ready': 'getReadiness',
  'POST /v1/auth/register': 'register',
  'POST /v1/auth/login': 'login',
  'POST /v1/auth/login/mfa': 'completeMfaLogin',
  'POST /v1/auth/logout': 'logout',
  'GET /v1/me': 'getMe',
  'PATCH /v1/me': 'updateMe',
  'DELETE /v1/me': 'eraseMe',
  'GET /v1/me/preferences': 'getPreferences',
  'PUT /v1/me/preferences': 'replacePreferences',
  'GET /v1/me/export': 'exportMyData',
  'DELETE /v1/me/sessions': 'revokeMySessions',
  'GET /v1/me/mfa': 'getMfaStatus',
  'POST /v1/me/mfa/enrolment': 'startMfaEnrolment',
  'POST /v1/me/mfa/enrolment/confirm': 'confirmMfaEnrolment',
  'POST /v1/me/mfa/recovery-codes': 'regenerateRecoveryCodes',
  'DELETE /v1/me/mfa': 'disableMfa',
  'GET /v1/accounts': 'listAccounts',
  'POST /v1/accounts': 'createAccount',
  'POST /v1/transactions': 'createTransaction',
  'GET /v1/transactions': 'listTransactions',
  'GET /v1/transactions/{id}': 'getTransaction',
  'GET /v1/notifications/stream': 'streamNotifications',
  'GET /v1/notifications': 'listNotifications',
  'POST /v1/notifications/{id}/read': 'markNotificationRead',
  'POST /v1/uploads': 'createUpload',
  'POST /v1/uploads/{id}/complete': 'completeUpload',
  'GET /v1/uploads': 'listUploads',
  'GET /v1/uploads/{id}': 'getUpload',
  'DELETE /v1/uploads/{id}': 'deleteUpload',
  'GET /v1/search': 'search',
  'GET /v1/reports/summary': 'getSummaryReport',
  'GET /v1/admin/reports/daily': 'getAdminDailyReport',
}

/**
 * Routes anyone may call. Every other route is documented with the session schemes unless its schema
 * says otherwise (`security: []` makes a route public). A test calls every route without credentials
 * and fails when the document and the answers disagree, so this list cannot drift silently.
 */
export const PUBLIC_OPERATIONS = new Set([
  'GET /health/live',
  'GET /health/ready',
  'POST /v1/auth/register',
  'POST /v1/auth/login',
  'POST /v1/auth/login/mfa',
])

/** The session as bearer token or cookie: what a protected route's `security` lists. */
const SESSION_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { cookie: [] }]

const VERBS: Record<string, string> = {
  GET: 'get',
  POST: 'create',
  PUT: 'replace',
  PATCH: 'update',
  DELETE: 'delete',
}

/** The OpenAPI path of a Fastify URL: `/v1/accounts/:id` -> `/v1/accounts/{id}`. */
export function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

/** A stable camelCase operationId: the map's name, else derived from method and path. */
export function operationIdOf(method: string, url: string): string {
  const path = openapiPath(url)
  const named = OPERATION_IDS[`${method} ${path}`]
  if (named) return named
  const words = path
    .split('/')
    .filter((s) => s && s !== 'v1')
    .map((s) => (s.startsWith('{') ? `by-${s.slice(1, -1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
  const pascal = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('')
  return `${VERBS[method] ?? method.toLowerCase()}${pascal}`
}

type RouteSchema = FastifySchema & { hide?: boolean; operationId?: string }

/**
 * Completes each route's OpenAPI entry centrally, so route files need not (and cannot forget):
 * an operationId, and `security`: the route's own, else `[]` for public routes (Redocly's
 * recommended rules require it, as the document has security schemes), else the session.
 */
export function completeOperation({
  schema,
  url,
  route,
}: {
  schema?: FastifySchema
  url: string
  route: RouteOptions
}): { schema: FastifySchema; url: string } {
  const current: RouteSchema = schema ?? {}
  if (current.hide) return { schema: current, url }
  const method = String(Array.isArray(route.method) ? route.method[0] : route.method)
  return {
    schema: {
      ...current,
      operationId: current.operationId ?? operationIdOf(method, url),
      security:
        current.security ?? (PUBLIC_OPERATIONS.has(`${method} ${openapiPath(url)}`) ? [] : SESSION_SECURITY),
    },
    url,
  }
}

/** Shared schemas plus the OpenAPI document generated from every route's schemas (GET /docs/json). */
async function swaggerPlugin(app: FastifyInstance, opts: SwaggerOptions) {
  app.addSchema(ErrorResponse)
  app.addSchema(PublicUser)
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Two-region backend API',
        version: '1.0.0',
        description: 'Accounts and sessions. Errors share the ErrorResponse shape.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: opts.publicUrl ?? '/', description: 'This deployment' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Session token from POST /v1/auth/login' },
          cookie: { type: 'apiKey', in: 'cookie', name: opts.cookieName },
        },
      },
    },
    transform: completeOperation,
    refResolver: {
      // Keep shared schemas under their $id in components.schemas.
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  })
  if (opts.ui) {
    // Swagger UI at /docs; it also serves the document at /docs/json and /docs/yaml.
    await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true })
  } else {
    app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())
  }
}

export default fp(swaggerPlugin, { name: 'swagger', fastify: '5.x' })
