/**
 * The one protected parent scope (fastify/demo's autohooks idea): every route registered inside it
 * authenticates in `onRequest`, before the body is read, parsed or validated, so an anonymous caller
 * gets 401 and learns nothing from validation errors, and no route can forget to authenticate.
 * Routes under /v1/admin/ additionally need the admin role, checked in the same phase (403 before
 * validation). Every answer is `Cache-Control: no-store`: it is one user's data.
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'
import { forbidden } from '../../platform/errors.js'

/** Path prefix of routes only admins may call. */
export const ADMIN_PREFIX = '/v1/admin/'

function authorize(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
  const url = request.routeOptions.url ?? ''
  if (url.startsWith(ADMIN_PREFIX) && request.user?.role !== 'admin') return done(forbidden('Admins only'))
  done()
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
