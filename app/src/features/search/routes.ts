import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest, unauthorized } from '../../platform/errors.js'
import { authErrors, errorRef, isInRange, isUuid } from '../../platform/schemas.js'
import { sqlStateOf } from '../accounts/sql-state.js'
import { type SearchCursor, search } from './search.js'

const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 2, maxLength: 200, description: 'Words, "quoted phrases", -excluded, or' }),
    type: Type.Union([Type.Literal('transactions'), Type.Literal('uploads'), Type.Literal('all')], {
      default: 'all',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 300, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
)

const Hit = Type.Object({
  type: Type.Union([Type.Literal('transaction'), Type.Literal('upload')]),
  id: Type.String({ format: 'uuid' }),
  title: Type.String({ description: 'Transaction description or upload file name' }),
  highlight: Type.String({ description: 'HTML-escaped excerpt; matches wrapped in <mark></mark>' }),
  rank: Type.Number(),
  createdAt: Type.String({ format: 'date-time' }),
})

/**
 * PostgreSQL's websearch_to_tsquery() gives up on some operator-only inputs ("- - - ..." or
 * "-!-!-!..." past about 30 operators) with an internal error (XX000 "tsquery stack too small"):
 * a client's mistake, so a 400, not a 500. No rewrite of the text catches every such input.
 */
function isQueryTooComplex(err: unknown): boolean {
  return sqlStateOf(err) === 'XX000' && /tsquery/.test(String((err as Error)?.message ?? ''))
}

const tooComplex = () =>
  badRequest('Search query too complex', [{ field: 'q', message: 'has too many operators; use words' }])

function encodeCursor(c: SearchCursor): string {
  return Buffer.from(JSON.stringify([c.rank, c.createdAt.toISOString(), c.id])).toString('base64url')
}

function decodeCursor(cursor: string): SearchCursor {
  try {
    const [rank, at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [
      unknown,
      unknown,
      unknown,
    ]
    const createdAt = new Date(typeof at === 'string' ? at : Number.NaN)
    // ts_rank is a float4 in [0, 1]: anything else would overflow the ::real cast in the query.
    const validRank = typeof rank === 'number' && rank >= 0 && rank <= 1
    if (!validRank || !isInRange(createdAt.getTime()) || !isUuid(id)) {
      throw new Error('bad cursor')
    }
    return { rank, createdAt, id } as SearchCursor
  } catch {
    throw badRequest('Invalid cursor', [{ field: 'cursor', message: 'is not a cursor this API returned' }])
  }
}

/** GET /v1/search: ranked, highlighted full-text search over the caller's own data. */
const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preHandler', app.authenticate)

  app.get(
    '',
    {
      schema: {
        tags: ['search'],
        summary: "Full-text search over the user's transaction descriptions and upload file names",
        security: [{ bearer: [] }, { cookie: [] }],
        querystring: SearchQuery,
        response: {
          200: Type.Object({ items: Type.Array(Hit), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          400: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      if (!request.user) throw unauthorized()
      const { q, type, limit, cursor } = request.query
      const text = q.trim()
      if (text.length < 2)
        throw badRequest('Query too short', [{ field: 'q', message: 'needs at least 2 characters' }])
      const { hits, next } = await search(await request.reader(), {
        userId: request.user.id,
        q: text,
        type,
        limit,
        after: cursor ? decodeCursor(cursor) : undefined,
      }).catch((err: unknown) => {
        throw isQueryTooComplex(err) ? tooComplex() : err
      })
      return {
        items: hits.map((h) => ({ ...h, createdAt: h.createdAt.toISOString() })),
        nextCursor: next ? encodeCursor(next) : null,
      }
    },
  )
}

export default searchRoutes
