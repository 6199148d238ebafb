import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type Static, Type } from 'typebox'
import { sqlOn } from '../../db/sql.js'
import { badRequest, HttpError, notFound } from '../../platform/errors.js'
import { cursorPosition, jsonPage } from '../../platform/pagination.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { AmountInput, CurrencyCode, MinorUnits, parseAmount } from './money.js'
import { type PostOutcome, postTransaction, type TransactionRequest } from './post-transaction.js'
import { type ListedRow, listQuery } from './transactions-list.js'

const Uuid = Type.String({ format: 'uuid' })

/** A transaction as clients see it; the POST answer and its replays carry exactly this shape. */
export const TransactionSchema = Type.Object(
  {
    id: Uuid,
    type: Type.Union([Type.Literal('deposit'), Type.Literal('withdrawal'), Type.Literal('transfer')]),
    amount: MinorUnits,
    currency: Type.String(),
    fromAccountId: Type.Union([Uuid, Type.Null()]),
    toAccountId: Type.Union([Uuid, Type.Null()]),
    description: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { description: 'A money movement; amount is integer minor units as a string' },
)
const TransactionEnvelope = Type.Object({ transaction: TransactionSchema })

// No `deposit`: money enters only through the funding path (./funding-routes.ts).
const CreateBody = Type.Object(
  {
    type: Type.Union([Type.Literal('withdrawal'), Type.Literal('transfer')]),
    amount: AmountInput,
    currency: CurrencyCode,
    fromAccountId: Type.Optional(Uuid),
    toAccountId: Type.Optional(Uuid),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
)
const CreateHeaders = Type.Object({
  'idempotency-key': Type.String({
    minLength: 1,
    maxLength: 255,
    pattern: '^[\\x21-\\x7E]+$',
    description: 'Client-chosen unique key (a UUID v4 is a good choice); retries reuse it',
  }),
})

const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
    accountId: Type.Optional(Uuid),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after (inclusive)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Created before (exclusive)' })),
  },
  { additionalProperties: false },
)

/** The direction each type needs: where money comes from and goes to. */
const ENDPOINTS = {
  withdrawal: { from: true, to: false },
  transfer: { from: true, to: true },
} as const

// A row as Prisma reads it (GET /v1/transactions/:id); the list's items are built by the database.
interface TransactionRow {
  id: string
  type: 'deposit' | 'withdrawal' | 'transfer'
  amount: bigint
  currency: string
  fromAccountId: string | null
  toAccountId: string | null
  description: string | null
  createdAt: Date
}

function toTransaction(row: TransactionRow) {
  return {
    id: row.id,
    type: row.type,
    amount: row.amount.toString(),
    currency: row.currency,
    fromAccountId: row.fromAccountId,
    toAccountId: row.toAccountId,
    description: row.description,
    createdAt: row.createdAt.toISOString(),
  }
}

const REFUSALS: Record<Exclude<PostOutcome['outcome'], 'created' | 'replayed'>, [number, string, string]> = {
  key_reused: [
    422,
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was already used with a different request',
  ],
  insufficient_funds: [422, 'INSUFFICIENT_FUNDS', 'The balance does not cover this amount'],
  currency_mismatch: [422, 'CURRENCY_MISMATCH', "The currency does not match the account's currency"],
  account_not_found: [404, 'ACCOUNT_NOT_FOUND', 'Account not found'],
  balance_limit: [422, 'BALANCE_LIMIT', 'The destination account cannot hold this amount'],
  deposit_not_allowed: [422, 'DEPOSIT_NOT_ALLOWED', 'Money enters an account only through funding'],
}

/** Money movement: POST/GET /v1/transactions, GET /v1/transactions/:id. */
const transactions: FastifyPluginAsyncTypebox<{ maxAttempts: number }> = async (app, opts) => {
  app.addHook('preHandler', app.authenticate)

  app.post(
    '',
    {
      schema: {
        tags: ['transactions'],
        summary: 'Withdraw or transfer, exactly once per Idempotency-Key (deposits come from funding)',
        description:
          'The same key with the same body answers the original status and body again (header ' +
          '`Idempotent-Replayed: true`); with another body, 422. A refused request (422/404) writes nothing.',
        security: sessionSecurity,
        headers: CreateHeaders,
        body: CreateBody,
        response: {
          201: TransactionEnvelope,
          400: errorRef,
          404: errorRef,
          422: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const body = request.body
      const amount = parseAmount(body.amount)
      if (amount === undefined) {
        throw badRequest('Invalid amount', [
          { field: 'amount', message: 'must be an integer from 1 to 10^15' },
        ])
      }
      const needs = ENDPOINTS[body.type]
      const problems = [
        ...(needs.from !== (body.fromAccountId !== undefined)
          ? [
              {
                field: 'fromAccountId',
                message: needs.from ? 'is required' : `is not allowed for a ${body.type}`,
              },
            ]
          : []),
        ...(needs.to !== (body.toAccountId !== undefined)
          ? [
              {
                field: 'toAccountId',
                message: needs.to ? 'is required' : `is not allowed for a ${body.type}`,
              },
            ]
          : []),
        ...(body.fromAccountId !== undefined && body.fromAccountId === body.toAccountId
          ? [{ field: 'toAccountId', message: 'must differ from fromAccountId' }]
          : []),
      ]
      if (problems.length > 0) throw badRequest('Request is invalid', problems)

      const input: TransactionRequest = {
        type: body.type,
        amount,
        currency: body.currency,
        fromAccountId: body.fromAccountId?.toLowerCase() ?? null,
        toAccountId: body.toAccountId?.toLowerCase() ?? null,
        description: body.description ?? null,
      }
      const result = await postTransaction(
        sqlOn(app.db.writer),
        currentUserId(request),
        request.headers['idempotency-key'],
        input,
        {
          maxAttempts: opts.maxAttempts,
          onRetry: (attempt, sqlState) => request.log.warn({ attempt, sqlState }, 'transaction retried'),
        },
      )
      switch (result.outcome) {
        case 'created':
          // The caller's own summaries at once (they may read them next); the counterparty's via the relay.
          await app.invalidateUserReports(currentUserId(request))
          app.notifications.relay.kick()
          return reply.code(result.status as 201).send(result.body as Static<typeof TransactionEnvelope>)
        case 'replayed':
          reply.header('idempotent-replayed', 'true')
          return reply.code(result.status as 201).send(result.body as Static<typeof TransactionEnvelope>)
        default: {
          const [status, code, message] = REFUSALS[result.outcome]
          const details = 'field' in result ? [{ field: result.field, message }] : undefined
          throw new HttpError(status, code, message, details)
        }
      }
    },
  )

  app.get(
    '',
    {
      schema: {
        tags: ['transactions'],
        summary: "The user's transactions, newest first, with cursor pagination",
        security: sessionSecurity,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(TransactionSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          400: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const { limit, cursor, accountId, from, to } = request.query
      const page = listQuery(currentUserId(request), {
        limit,
        accountId,
        from: from ? new Date(from) : undefined,
        to: to ? new Date(to) : undefined,
        after: cursor ? cursorPosition(cursor) : undefined,
      })
      const rows = await sqlOn(await request.reader())<ListedRow>(page.text, page.values)
      // The items come as JSON in the response schema's shape (transactions-list.ts); a string
      // payload is sent as is, so the typed reply is told it is one.
      return reply.type('application/json; charset=utf-8').send(jsonPage(rows, limit) as never)
    },
  )

  app.get(
    '/:id',
    {
      schema: {
        tags: ['transactions'],
        summary: 'One transaction of the user (404 for anybody else, whether or not it exists)',
        security: sessionSecurity,
        params: Type.Object({ id: Uuid }),
        response: { 200: TransactionEnvelope, 400: errorRef, 404: errorRef, ...authErrors },
      },
    },
    async (request) => {
      const owner = currentUserId(request)
      const row = await (await request.reader()).transaction.findFirst({
        where: { id: request.params.id, OR: [{ fromUserId: owner }, { toUserId: owner }] },
      })
      if (!row) throw notFound('Transaction not found')
      return { transaction: toTransaction(row) }
    },
  )
}

export default transactions
