/**
 * The one protected parent scope (fastify/demo's autohooks idea): every route registered inside it
 * authenticates in `onRequest`, before the body is read, parsed or validated, so an anonymous caller
 * gets 401 and learns nothing from validation errors, and no route can forget to authenticate.
 * Routes under /v1/admin/ additionally need the admin role, checked in the same phase (403 before
 * validation), and, with REQUIRE_MFA_FOR_ADMIN, an admin account with two-factor authentication on
 * (403 MFA_REQUIRED until they enrol at /v1/me/mfa). A session that may only enrol (REQUIRE_MFA,
 * features/mfa/policy.ts) is refused everywhere but the enrolment routes, and so is a full session
 * that began without a second factor once REQUIRE_MFA is on (switching it on restricts sessions
 * that already exist, not only new logins). Every answer is
 * `Cache-Control: no-store`: it is one user's data.
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'
import { forbidden, HttpError } from '../../platform/errors.js'
import { ENROLMENT_ONLY_ROLE, ENROLMENT_ROUTES } from '../mfa/policy.js'

/** Path prefix of routes only admins may call. */
export const ADMIN_PREFIX = '/v1/admin/'

// Callback style: the common case (no admin route, full session) costs no promise per request.
function authorize(
  this: FastifyInstance,
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
) {
  const url = request.routeOptions.url ?? ''
  const enrolmentRoute = ENROLMENT_ROUTES.has(`${request.method} ${url}`)
  if (request.user?.role === ENROLMENT_ONLY_ROLE && !enrolmentRoute) return done(enrolmentRequired())
  const { authenticators, config } = this.mfa
  const user = request.user
  // REQUIRE_MFA switched on after this session began without a second factor: the session's own
  // flag says so for free; only an unflagged one (its user may have enrolled since on another
  // session, or it predates the flag) costs one primary-key read.
  if (config.requireForAll && user && !request.session?.mfa && !enrolmentRoute) {
    return void authenticators.isEnabled(user.id).then(
      (enabled) => (enabled ? adminCheck(this, request, url, done) : done(enrolmentRequired())),
      (err: Error) => done(err),
    )
  }
  adminCheck(this, request, url, done)
}

const enrolmentRequired = () =>
  new HttpError(
    403,
    'MFA_ENROLMENT_REQUIRED',
    'Turn on two-factor authentication first (POST /v1/me/mfa/enrolment)',
  )

function adminCheck(
  app: FastifyInstance,
  request: FastifyRequest,
  url: string,
  done: HookHandlerDoneFunction,
) {
  if (!url.startsWith(ADMIN_PREFIX)) return done()
  const user = request.user
  if (user?.role !== 'admin') return done(forbidden('Admins only'))
  // One primary-key read, on admin routes only: the state is current even for a session that
  // predates an enrolment or a disable.
  const { authenticators, config } = app.mfa
  if (!config.requireForAdmin) return done()
  authenticators.isEnabled(user.id).then(
    (enabled) =>
      done(
        enabled
          ? undefined
          : new HttpError(
              403,
              'MFA_REQUIRED',
              'Admin routes need two-factor authentication: turn it on at /v1/me/mfa, then retry',
            ),
      ),
    (err: Error) => done(err),
  )
}

// First, so the 401 of a missing session carries it too.
function noStore(_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
  reply.header('cache-control', 'no-store')
  done()
}

/** Registers `routes` inside a scope where every request is authenticated and authorised first. */
export function protectedScope(routes: (scope: FastifyInstance) => Promise<void>): FastifyPluginAsync {
  return async function protectedRoutes(scope) {
    scope.addHook('onRequest', noStore)
    scope.addHook('onRequest', scope.authenticate)
    scope.addHook('onRequest', authorize)
    await routes(scope)
  }
}
