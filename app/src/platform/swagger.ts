import fastifySwagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PublicUser } from '../features/auth/schemas.js'
import { ErrorResponse } from './schemas.js'

/** Shared schemas plus the OpenAPI document generated from every route's schemas (GET /docs/json). */
async function swaggerPlugin(app: FastifyInstance, opts: { cookieName: string }) {
  app.addSchema(ErrorResponse)
  app.addSchema(PublicUser)
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Two-region backend API',
        version: '1.0.0',
        description: 'Accounts and sessions. Errors share the ErrorResponse shape.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Session token from POST /v1/auth/login' },
          cookie: { type: 'apiKey', in: 'cookie', name: opts.cookieName },
        },
      },
    },
    refResolver: {
      // Keep shared schemas under their $id in components.schemas.
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  })
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(swaggerPlugin, { name: 'swagger', fastify: '5.x' })
