/**
 * One guard in front of every route's validation: text PostgreSQL cannot store and structures
 * deeper than any schema of ours are refused with a 400 here, so no route has to remember it.
 * - NUL (U+0000) is not allowed in PostgreSQL text or jsonb;
 * - a lone UTF-16 surrogate (JSON "\ud800") is not valid Unicode: jsonb rejects its escape and
 *   text would silently become U+FFFD;
 * - nesting beyond MAX_DEPTH makes recursive code (Ajv, JSON.stringify, Prisma) overflow the
 *   stack, a 500 instead of a 400.
 * The walk is iterative for the same reason.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { badRequest, type FieldError } from './errors.js'

/** Deepest nesting of objects and arrays a request may carry (our schemas need 4). */
export const MAX_DEPTH = 32

/** The first problem in a parsed value, or undefined when it is safe to validate and store. */
export function inputProblem(value: unknown, root: string): FieldError | undefined {
  const stack: [unknown, string, number][] = [[value, root, 0]]
  while (stack.length > 0) {
    const [item, path, depth] = stack.pop() as [unknown, string, number]
    if (typeof item === 'string') {
      const problem = textProblem(item)
      if (problem) return { field: path, message: problem }
      continue
    }
    if (typeof item !== 'object' || item === null) continue
    if (depth >= MAX_DEPTH) return { field: path, message: `nests deeper than ${MAX_DEPTH} levels` }
    for (const [key, child] of Object.entries(item)) {
      const problem = textProblem(key)
      if (problem) return { field: path, message: `has a field name that ${problem}` }
      stack.push([child, path ? `${path}.${key}` : key, depth + 1])
    }
  }
  return undefined
}

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character'
  // String.prototype.isWellFormed (ES2024; the project's lib is older).
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed())
    return 'contains an unpaired UTF-16 surrogate'
  return undefined
}

async function inputGuard(app: FastifyInstance) {
  app.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    const problem =
      inputProblem(request.params, 'params') ??
      inputProblem(request.query, 'querystring') ??
      inputProblem(request.body, 'body')
    if (!problem) return done()
    done(
      badRequest('Request is invalid', [
        {
          field: problem.field.replace(/^(params|querystring|body)\.?/, '') || problem.field,
          message: problem.message,
        },
      ]),
    )
  })
}

/** The first query or path value coercion turned into a non-finite number, if any. */
export function nonFiniteField(parts: Record<string, unknown>): string | undefined {
  for (const [part, value] of Object.entries(parts)) {
    if (typeof value !== 'object' || value === null) continue
    for (const [key, v] of Object.entries(value)) {
      const items = Array.isArray(v) ? v : [v]
      if (items.some((item) => typeof item === 'number' && !Number.isFinite(item))) return `${part}.${key}`
    }
  }
  return undefined
}

async function finiteGuard(app: FastifyInstance) {
  // After validation: Ajv coerces "Infinity" in a query string to a number it then accepts as an
  // integer within any minimum/maximum (Infinity % 1 is NaN); `take: Infinity` fails in the query.
  app.addHook('preHandler', (request: FastifyRequest, _reply, done) => {
    const field = nonFiniteField({ querystring: request.query, params: request.params })
    if (!field) return done()
    done(
      badRequest('Request is invalid', [
        { field: field.split('.').slice(1).join('.'), message: 'must be a finite number' },
      ]),
    )
  })
}

/** Registers both guards on the root instance. */
async function guards(app: FastifyInstance) {
  await inputGuard(app)
  await finiteGuard(app)
}

export default fp(guards, { name: 'input-guard', fastify: '5.x' })
