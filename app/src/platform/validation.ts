/**
 * How request schemas are compiled. Two Ajv instances from Fastify's own compiler:
 * - bodies are validated without type coercion: JSON already has types, and coercion is what let
 *   `"0x10"` become 16 and `["5"]` become "5" in money amounts;
 * - querystring, params and headers are text on the wire and keep Fastify's coercion.
 * Both use the strict `date` and `date-time` formats of ./schemas.ts.
 *
 * Only bodies stop at their first problem (`allErrors: false`, Fastify's own default, whose
 * ajv-compiler warns that `true` allows a DoS): a body can be BODY_LIMIT_BYTES of unknown fields
 * or array items, and collecting one error per item is work an anonymous caller orders for free
 * (60,000 fields made 60,000 errors and a 3.3 MB answer). The text parts keep every problem
 * (build.ts sets `allErrors`): Node caps the URL and headers at 16 KB, so they yield at most a few
 * thousand, of which the error handler answers the first 20.
 */
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifyServerOptions } from 'fastify'
import { strictFormats } from './schemas.js'

type BuildValidator = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>

/** Fastify `schemaController.compilersFactory.buildValidator`: strict bodies, coerced text parts. */
export function buildValidator(): BuildValidator {
  const pool = AjvCompiler()
  return (externalSchemas, options) => {
    const withFormats = { ...options, onCreate: strictFormats }
    const coercing = pool(externalSchemas, withFormats)
    const strict = pool(externalSchemas, {
      ...withFormats,
      customOptions: { ...options?.customOptions, coerceTypes: false, allErrors: false },
    } as typeof options)
    return (route) => (route.httpPart === 'body' ? strict : coercing)(route)
  }
}
