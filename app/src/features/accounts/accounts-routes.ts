import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { sqlOn } from '../../db/sql.js'
import { badRequest, conflict } from '../../platform/errors.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { CurrencyCode, isKnownCurrency, MinorUnits } from './money.js'

/** An account as clients see it; the balance is integer minor units as a string. */
export const AccountSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    currency: Type.String({ description: 'ISO 4217 code' }),
    name: Type.Union([Type.String(), Type.Null()]),
    balance: MinorUnits,
    createdAt: Type.String({ format: 'date-time' }),
  },
  { description: 'An account; the balance is integer minor units as a string' },
)

const CreateAccountBody = Type.Object(
  { currency: CurrencyCode, name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
)

/** A user may hold this many accounts; a cap keeps a runaway client from filling the table. */
export const MAX_ACCOUNTS_PER_USER = 20

interface AccountRow {
  id: string
  currency: string
  name: string | null
  /** bigint from Prisma, the int8's decimal text from plain pg. */
  balance: bigint | string
  createdAt: Date
}

// Plain pg (db/sql.ts): the list is read on every screen of a client.
const LIST_ACCOUNTS = `SELECT id, currency, name, balance, created_at AS "createdAt"
  FROM accounts WHERE user_id = $1 ORDER BY created_at, id LIMIT $2`

function toAccount(row: AccountRow) {
  return {
    id: row.id,
    currency: row.currency,
    name: row.name,
    balance: row.balance.toString(),
    createdAt: row.createdAt.toISOString(),
  }
}

/** The signed-in user's accounts: GET/POST /v1/accounts. */
const accounts: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preHandler', app.authenticate)

  app.get(
    '',
    {
      schema: {
        tags: ['accounts'],
        summary: "The user's accounts with their balances, oldest first",
        security: sessionSecurity,
        response: { 200: Type.Object({ items: Type.Array(AccountSchema) }), ...authErrors },
      },
    },
    async (request) => {
      const rows = await sqlOn(await request.reader())<AccountRow>(LIST_ACCOUNTS, [
        currentUserId(request),
        MAX_ACCOUNTS_PER_USER,
      ])
      return { items: rows.map(toAccount) }
    },
  )

  app.post(
    '',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Open an account in a currency, with a zero balance',
        security: sessionSecurity,
        body: CreateAccountBody,
        response: {
          201: Type.Object({ account: AccountSchema }),
          400: errorRef,
          409: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const { currency, name } = request.body
      if (!isKnownCurrency(currency)) {
        throw badRequest('Unknown currency', [{ field: 'currency', message: 'is not an ISO 4217 code' }])
      }
      const owner = currentUserId(request)
      // Count and insert under the owner's row lock: concurrent requests each counting 19 would
      // otherwise all insert. FOR NO KEY UPDATE leaves the accounts' foreign-key checks unblocked.
      const row = await app.prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM users WHERE id = ${owner}::uuid FOR NO KEY UPDATE`
        const count = await tx.account.count({ where: { userId: owner } })
        if (count >= MAX_ACCOUNTS_PER_USER) {
          throw conflict('ACCOUNT_LIMIT', `A user may hold at most ${MAX_ACCOUNTS_PER_USER} accounts`)
        }
        return tx.account.create({ data: { userId: owner, currency, name: name ?? null } })
      })
      return reply.code(201).send({ account: toAccount(row) })
    },
  )
}

export default accounts
