/**
 * How request schemas are compiled. Two Ajv instances from Fastify's own compiler:
 * - bodies are validated without type coercion: JSON already has types, and coercion is what let
 *   `"0x10"` become 16 and `["5"]` become "5" in money amounts;
 * - querystring, params and headers are text on the wire and keep Fastify's coercion.
 * Both use the strict `date` and `date-time` formats of ./schemas.ts.
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
      customOptions: { ...options?.customOptions, coerceTypes: false },
    } as typeof options)
    return (route) => (route.httpPart === 'body' ? strict : coercing)(route)
  }
}
