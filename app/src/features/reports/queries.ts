/**
 * Report queries. Periods are UTC calendar days, ISO weeks (starting Monday) and months.
 * Amounts are summed as numeric and returned as strings of minor units: a bigint sum must not
 * pass through a float.
 */
import type { PrismaClient } from '../../generated/prisma/client.js'

/** Bucket size of the user summary. */
export type Granularity = 'day' | 'week' | 'month'

/** Totals of one account, transaction type and direction within one period. */
export interface SummaryRow {
  period: string
  accountId: string
  currency: string
  type: 'deposit' | 'withdrawal' | 'transfer'
  /** `in`: money arrived in the account; `out`: it left. A transfer between own accounts is both. */
  direction: 'in' | 'out'
  count: number
  total: string
}

/** One UTC day of the admin report. */
export interface DailyRow {
  date: string
  activeUsers: number
  registrations: number
  transactions: { currency: string; count: number; volume: string }[]
}

/** Per-period totals and counts of a user's transactions, per account, type and direction. */
export async function userSummary(
  db: PrismaClient,
  params: { userId: string; from: Date; to: Date; granularity: Granularity },
): Promise<SummaryRow[]> {
  const { userId, from, to, granularity } = params
  const rows = await db.$queryRaw<
    {
      period: Date
      account_id: string
      currency: string
      type: SummaryRow['type']
      direction: 'in' | 'out'
      count: number
      total: string
    }[]
  >`
    WITH legs AS (
      SELECT from_account_id AS account_id, 'out' AS direction, type, amount, currency, created_at
      FROM transactions
      WHERE from_user_id = ${userId}::uuid AND created_at >= ${from} AND created_at < ${to}
      UNION ALL
      SELECT to_account_id, 'in', type, amount, currency, created_at
      FROM transactions
      WHERE to_user_id = ${userId}::uuid AND created_at >= ${from} AND created_at < ${to}
    )
    SELECT date_trunc(${granularity}, created_at AT TIME ZONE 'UTC') AS period, account_id, currency,
           type::text AS type, direction, count(*)::int AS count, sum(amount)::text AS total
    FROM legs
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 4, 5`
  return rows.map((r) => ({
    period: isoDate(r.period),
    accountId: r.account_id,
    currency: r.currency,
    type: r.type,
    direction: r.direction,
    count: r.count,
    total: r.total,
  }))
}

/** Daily active users, registrations, and transaction count and volume per currency, per UTC day. */
export async function dailyReport(
  db: PrismaClient,
  params: { from: string; to: string },
): Promise<DailyRow[]> {
  const { from, to } = params
  const rows = await db.$queryRaw<
    {
      day: Date
      active: number
      registrations: number
      tx: { currency: string; count: number; volume: string }[]
    }[]
  >`
    WITH days AS (
      SELECT d::date AS day FROM generate_series(${from}::date, ${to}::date, interval '1 day') AS d
    ),
    active AS (
      SELECT day, count(*)::int AS n FROM user_activity
      WHERE day BETWEEN ${from}::date AND ${to}::date GROUP BY day
    ),
    registered AS (
      SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*)::int AS n FROM users
      WHERE created_at >= ${from}::date AT TIME ZONE 'UTC'
        AND created_at < (${to}::date + 1) AT TIME ZONE 'UTC'
      GROUP BY 1
    ),
    volume AS (
      SELECT (created_at AT TIME ZONE 'UTC')::date AS day, currency, count(*)::int AS n, sum(amount)::text AS v
      FROM transactions
      WHERE created_at >= ${from}::date AT TIME ZONE 'UTC'
        AND created_at < (${to}::date + 1) AT TIME ZONE 'UTC'
      GROUP BY 1, 2
    )
    SELECT days.day, coalesce(active.n, 0) AS active, coalesce(registered.n, 0) AS registrations,
           coalesce((SELECT json_agg(json_build_object('currency', currency, 'count', n, 'volume', v) ORDER BY currency)
                     FROM volume WHERE volume.day = days.day), '[]'::json) AS tx
    FROM days
    LEFT JOIN active USING (day)
    LEFT JOIN registered USING (day)
    ORDER BY days.day`
  return rows.map((r) => ({
    date: isoDate(r.day),
    activeUsers: r.active,
    registrations: r.registrations,
    transactions: r.tx.map((t) => ({
      currency: t.currency.trim(),
      count: t.count,
      volume: String(t.volume),
    })),
  }))
}

/** Records that a user was active today (UTC); repeated calls the same day are no-ops. */
export async function recordActivity(db: PrismaClient, userId: string): Promise<void> {
  await db.$executeRaw`
    INSERT INTO user_activity (user_id, day) VALUES (${userId}::uuid, (now() AT TIME ZONE 'UTC')::date)
    ON CONFLICT DO NOTHING`
}

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10)
}
