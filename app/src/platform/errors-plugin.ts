import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { dependencyOf, isWriteConflict } from './dependency-errors.js'
import { DependencyUnavailableError, type FieldError, HttpError } from './errors.js'

/** Fastify's own 4xx errors mapped to our stable codes. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
}

type ValidationIssue = NonNullable<FastifyError['validation']>[number]

// Query strings and headers are validated with allErrors (platform/validation.ts): up to 16 KB of
// them can carry thousands of problems; the answer names the first few.
const MAX_DETAILS = 20

/** Turns Ajv's issues into `{ field, message }`, naming the offending field where Ajv hides it in params. */
function fieldErrors(issues: ValidationIssue[], context: string | undefined): FieldError[] {
  return issues.slice(0, MAX_DETAILS).map((issue) => {
    const params = issue.params as Record<string, unknown>
    const base = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
    const extra = (params.missingProperty ?? params.additionalProperty) as string | undefined
    const field = [base, extra].filter(Boolean).join('.') || context || 'body'
    const message =
      params.additionalProperty !== undefined ? 'is not an allowed field' : (issue.message ?? 'is invalid')
    return { field, message }
  })
}

function send(reply: FastifyReply, request: FastifyRequest, status: number, body: object) {
  return reply.code(status).send({ error: { ...body, requestId: request.id } })
}

async function errorsPlugin(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.headers) reply.headers(error.headers)
      if (error instanceof DependencyUnavailableError) {
        request.log.warn(
          { dependency: error.dependency, reason: describe(error.reason) },
          'dependency unavailable',
        )
      }
      return send(reply, request, error.statusCode, {
        code: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      })
    }
    if (error.validation) {
      return send(reply, request, 400, {
        code: 'VALIDATION_FAILED',
        message: 'Request is invalid',
        details: fieldErrors(error.validation, error.validationContext),
      })
    }
    const dependency = dependencyOf(error)
    if (dependency) {
      request.log.warn({ dependency, reason: describe(error) }, 'dependency unavailable')
      reply.header('retry-after', '1')
      return send(reply, request, 503, {
        code: 'SERVICE_UNAVAILABLE',
        message: 'Service temporarily unavailable, retry later',
      })
    }
    if (isWriteConflict(error)) {
      request.log.warn({ reason: describe(error) }, 'write conflict outlived its retries')
      return send(reply, request, 409, {
        code: 'TRANSACTION_CONFLICT',
        message: 'The request collided with concurrent ones and was rolled back; send it again',
      })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Fastify's own client errors carry safe, useful messages (bad JSON, body too large, ...).
      return send(reply, request, status, {
        code: FASTIFY_CODES[error.code] ?? (status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST'),
        message: error.message,
      })
    }
    // Never leak internals: the log has the details, the client gets the request id.
    request.log.error({ err: error }, 'unhandled error')
    return send(reply, request, 500, { code: 'INTERNAL_ERROR', message: 'Internal server error' })
  })

  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 404, {
      code: 'NOT_FOUND',
      message: `Route ${request.method} ${request.url} not found`,
    }),
  )
}

function describe(reason: unknown): string | undefined {
  return reason instanceof Error ? reason.message.split('\n').filter(Boolean).at(-1) : undefined
}

export default fp(errorsPlugin, { name: 'errors', fastify: '5.x' })
