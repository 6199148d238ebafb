/**
 * The only ways money enters the ledger (docs/api-transactions.md, "Funding"):
 * - POST /v1/funding/webhook: a payment provider's event, authenticated by an HMAC over the raw
 *   body (./funding-signature.ts), not by a user session;
 * - POST /v1/admin/treasury/fundings: an admin's treasury operation with a stated reason; the
 *   funding row records who, when, why and how much. GET lists that audit trail.
 * Both are idempotent (provider event id / admin Idempotency-Key) and held to the same limits.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import { badRequest, forbidden, HttpError } from '../../platform/errors.js'
import { olderThan, toPage } from '../../platform/pagination.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUser, sessionSecurity } from '../auth/current-user.js'
import { type FundingLimits, type FundingRequest, fundingRefusal, postFunding } from './funding.js'
import { SIGNATURE_HEADER, signatureProblem } from './funding-signature.js'
import { AmountInput, CurrencyCode, MinorUnits, parseAmount } from './money.js'
import { TransactionSchema } from './transactions-routes.js'

const Uuid = Type.String({ format: 'uuid' })
const Envelope = Type.Object({ transaction: TransactionSchema })
type Envelope = Static<typeof Envelope>
const PrintableKey = (description: string) =>
  Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description })

const WebhookBody = Type.Object(
  {
    id: PrintableKey("The provider's unique event id: a redelivery of the same event is applied once"),
    type: Type.Literal('funding.succeeded'),
    accountId: Uuid,
    amount: AmountInput,
    currency: CurrencyCode,
    description: Type.Optional(Type.String({ maxLength: 500, description: "Shown in the user's history" })),
    reference: Type.Optional(
      Type.String({ maxLength: 255, description: "The provider's payment reference" }),
    ),
  },
  { additionalProperties: false },
)

const TreasuryBody = Type.Object(
  {
    accountId: Uuid,
    amount: AmountInput,
    currency: CurrencyCode,
    reason: Type.String({ minLength: 3, maxLength: 500, description: 'Why: kept in the audit record' }),
    description: Type.Optional(Type.String({ maxLength: 500, description: "Shown in the user's history" })),
  },
  { additionalProperties: false },
)

const FundingRecord = Type.Object({
  id: Uuid,
  source: Type.Union([Type.Literal('provider'), Type.Literal('treasury')]),
  eventId: Type.String(),
  accountId: Uuid,
  amount: MinorUnits,
  currency: Type.String(),
  transactionId: Uuid,
  actorId: Type.Union([Uuid, Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
})

/** Options of both funding plugins. */
export interface FundingRoutesOptions {
  limits: FundingLimits
  maxAttempts: number
  webhookSecret?: string
  webhookToleranceSeconds?: number
}

/** Applies a funding and answers 201 (new), 200 (replay) or the refusal. */
async function fund(
  app: Parameters<FastifyPluginAsyncTypebox>[0],
  request: FastifyRequest,
  reply: FastifyReply,
  input: FundingRequest,
  opts: FundingRoutesOptions,
) {
  const result = await postFunding(app.prisma, input, opts.limits, opts.maxAttempts)
  if (result.outcome === 'created') {
    request.log.info(
      {
        source: input.source,
        eventId: input.eventId,
        amount: input.amount.toString(),
        currency: input.currency,
      },
      'funding applied',
    )
    // The receiver's summaries at once, as a transfer does for its sender.
    await app.invalidateUserReports(result.userId)
    app.notifications.relay.kick()
    return reply.code(201).send(result.body as Envelope)
  }
  if (result.outcome === 'replayed') {
    reply.header('idempotent-replayed', 'true')
    return reply.code(200).send(result.body as Envelope)
  }
  throw fundingRefusal(result.outcome)
}

function amountOf(value: string): bigint {
  const amount = parseAmount(value)
  if (amount === undefined) {
    throw badRequest('Invalid amount', [{ field: 'amount', message: 'must be an integer from 1 to 10^15' }])
  }
  return amount
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The webhook's body as received, for its signature. */
    rawBody?: Buffer
  }
}

/** POST /v1/funding/webhook: signed payment-provider events (no session). */
export const fundingWebhookRoutes: FastifyPluginAsyncTypebox<FundingRoutesOptions> = async (app, opts) => {
  const secret = opts.webhookSecret
  if (!secret) throw new Error('fundingWebhookRoutes needs webhookSecret')
  const tolerance = opts.webhookToleranceSeconds ?? 300
  const parseJson = app.getDefaultJsonParser('error', 'error')
  // The signature is checked on the raw bytes before they are parsed: an unsigned request gets a
  // 401 and never reaches the JSON parser or validation.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    const header = request.headers[SIGNATURE_HEADER]
    const problem = signatureProblem(secret, typeof header === 'string' ? header : undefined, body, tolerance)
    if (problem) {
      request.log.warn({ problem }, 'funding webhook signature refused')
      done(new HttpError(401, 'INVALID_SIGNATURE', 'The webhook signature is missing, invalid or expired'))
      return
    }
    request.rawBody = body
    parseJson(request, body.toString('utf8'), done)
  })
  // A body-less request has no signed bytes: refuse it before anything else.
  app.addHook('preValidation', async (request) => {
    if (!request.rawBody) {
      throw new HttpError(401, 'INVALID_SIGNATURE', 'The webhook signature is missing, invalid or expired')
    }
  })

  app.post(
    '/webhook',
    {
      schema: {
        tags: ['funding'],
        summary: "A payment provider's signed funding event: credits the account once per event id",
        description:
          `Header \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.rawBody">\`. ` +
          'A redelivery with the same body answers 200 with the first result; the same id with another body, 409.',
        body: WebhookBody,
        response: {
          200: Envelope,
          201: Envelope,
          400: errorRef,
          401: errorRef,
          404: errorRef,
          409: errorRef,
          422: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const body = request.body
      return fund(
        app,
        request,
        reply,
        {
          source: 'provider',
          eventId: body.id,
          accountId: body.accountId.toLowerCase(),
          amount: amountOf(body.amount),
          currency: body.currency,
          description: body.description ?? null,
          actorId: null,
          reason: body.reference ?? null,
        },
        opts,
      )
    },
  )
}

/** POST/GET /v1/admin/treasury/fundings: admin treasury operations and their audit trail. */
export const treasuryRoutes: FastifyPluginAsyncTypebox<FundingRoutesOptions> = async (app, opts) => {
  app.addHook('preHandler', app.authenticate)
  const requireAdmin = (request: FastifyRequest) => {
    const user = currentUser(request)
    if (user.role !== 'admin') throw forbidden('Admins only')
    return user
  }

  app.post(
    '/fundings',
    {
      schema: {
        tags: ['funding', 'admin'],
        summary: 'Credit an account from the treasury (admins), with a reason kept in the audit record',
        security: sessionSecurity,
        headers: Type.Object({ 'idempotency-key': PrintableKey('Unique per operation; retries reuse it') }),
        body: TreasuryBody,
        response: {
          200: Envelope,
          201: Envelope,
          400: errorRef,
          403: errorRef,
          404: errorRef,
          409: errorRef,
          422: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const admin = requireAdmin(request)
      const body = request.body
      return fund(
        app,
        request,
        reply,
        {
          source: 'treasury',
          // Keys are the admin's own namespace, as Idempotency-Keys are per user elsewhere.
          eventId: `${admin.id}:${request.headers['idempotency-key']}`,
          accountId: body.accountId.toLowerCase(),
          amount: amountOf(body.amount),
          currency: body.currency,
          description: body.description ?? null,
          actorId: admin.id,
          reason: body.reason,
        },
        opts,
      )
    },
  )

  app.get(
    '/fundings',
    {
      schema: {
        tags: ['funding', 'admin'],
        summary: 'The funding audit trail, newest first (admins)',
        security: sessionSecurity,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            accountId: Type.Optional(Uuid),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(FundingRecord),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          400: errorRef,
          403: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      requireAdmin(request)
      const { limit, cursor, accountId } = request.query
      const rows = await app.prisma.funding.findMany({
        where: { AND: [accountId ? { accountId } : {}, olderThan(cursor)] },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      })
      return toPage(rows, limit, (row) => ({
        id: row.id,
        source: row.source,
        eventId: row.eventId,
        accountId: row.accountId,
        amount: row.amount.toString(),
        currency: row.currency,
        transactionId: row.transactionId,
        actorId: row.actorId,
        reason: row.reason,
        createdAt: row.createdAt.toISOString(),
      }))
    },
  )
}
