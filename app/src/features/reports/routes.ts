import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { cacheNs } from '../../platform/cache/plugin.js'
import { badRequest, forbidden } from '../../platform/errors.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { currentUser, sessionSecurity } from '../auth/current-user.js'
import { dailyReport, type Granularity, userSummary } from './queries.js'

const DAY_MS = 86_400_000
/** Longest range one request may ask for; keeps the query and the cached document bounded. */
const MAX_SUMMARY_DAYS = 731
const MAX_DAILY_DAYS = 366

const SummaryQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ format: 'date', description: 'First UTC day (default: 30 days before `to`)' }),
    ),
    to: Type.Optional(
      Type.String({ format: 'date', description: 'Last UTC day, inclusive (default: today)' }),
    ),
    granularity: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], {
      default: 'day',
    }),
  },
  { additionalProperties: false },
)

const SummaryResponse = Type.Object({
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  granularity: Type.String(),
  periods: Type.Array(
    Type.Object({
      period: Type.String({ format: 'date', description: 'First day of the period (weeks start on Monday)' }),
      accountId: Type.String({ format: 'uuid' }),
      currency: Type.String(),
      type: Type.Union([Type.Literal('deposit'), Type.Literal('withdrawal'), Type.Literal('transfer')]),
      direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
      count: Type.Integer(),
      total: Type.String({ description: 'Sum of amounts in minor units' }),
    }),
  ),
})

const DailyQuery = Type.Object(
  { from: Type.String({ format: 'date' }), to: Type.String({ format: 'date' }) },
  { additionalProperties: false },
)

const DailyResponse = Type.Object({
  days: Type.Array(
    Type.Object({
      date: Type.String({ format: 'date' }),
      activeUsers: Type.Integer({
        description: 'Users who logged in or made an authenticated request that day',
      }),
      registrations: Type.Integer(),
      transactions: Type.Array(
        Type.Object({ currency: Type.String(), count: Type.Integer(), volume: Type.String() }),
      ),
    }),
  ),
})

const today = () => new Date().toISOString().slice(0, 10)
const addDays = (day: string, n: number) => new Date(Date.parse(day) + n * DAY_MS).toISOString().slice(0, 10)
const daysBetween = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1

function checkRange(from: string, to: string, maxDays: number) {
  const days = daysBetween(from, to)
  if (days < 1) throw badRequest('Empty range', [{ field: 'to', message: 'must not be before from' }])
  if (days > maxDays)
    throw badRequest('Range too long', [{ field: 'from', message: `at most ${maxDays} days` }])
}

/** Options of the report routes. */
export interface ReportRoutesOptions {
  ttlSeconds: number
}

/** GET /v1/reports/summary (the user's) and GET /v1/admin/reports/daily (admins only). */
const reports: FastifyPluginAsyncTypebox<ReportRoutesOptions> = async (app, opts) => {
  app.addHook('preHandler', app.authenticate)

  app.get(
    '/reports/summary',
    {
      schema: {
        tags: ['reports'],
        summary: "Per-period totals and counts of the user's transactions, per account, type and direction",
        security: sessionSecurity,
        querystring: SummaryQuery,
        response: { 200: SummaryResponse, 400: errorRef, ...authErrors },
      },
    },
    async (request) => {
      const user = currentUser(request)
      const to = request.query.to ?? today()
      const from = request.query.from ?? addDays(to, -29)
      checkRange(from, to, MAX_SUMMARY_DAYS)
      const granularity: Granularity = request.query.granularity
      const periods = await app.cache.getOrLoad(
        cacheNs.reports(user.id),
        `summary:${from}:${to}:${granularity}`,
        opts.ttlSeconds,
        async () =>
          userSummary(await request.reader(), {
            userId: user.id,
            from: new Date(`${from}T00:00:00Z`),
            to: new Date(`${addDays(to, 1)}T00:00:00Z`),
            granularity,
          }),
      )
      return { from, to, granularity, periods }
    },
  )

  app.get(
    '/admin/reports/daily',
    {
      schema: {
        tags: ['reports', 'admin'],
        summary: 'Daily active users, registrations, and transaction count and volume per currency (admins)',
        security: sessionSecurity,
        querystring: DailyQuery,
        response: { 200: DailyResponse, 400: errorRef, 403: errorRef, ...authErrors },
      },
    },
    async (request) => {
      if (currentUser(request).role !== 'admin') throw forbidden('Admins only')
      const { from, to } = request.query
      checkRange(from, to, MAX_DAILY_DAYS)
      // Not invalidated per write: every write of every user would churn it. The TTL bounds staleness.
      const days = await app.cache.getOrLoad(
        cacheNs.adminReports,
        `daily:${from}:${to}`,
        opts.ttlSeconds,
        async () => dailyReport(await request.reader(), { from, to }),
      )
      return { days }
    },
  )
}

export default reports
