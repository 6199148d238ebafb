import { api } from '../lib/api.js'
import { unwrap } from '../lib/errors.js'
import { formatMoney } from '../lib/money.js'
import { useRead } from '../useRead.js'

type Period = { period: string; currency: string; direction: 'in' | 'out'; total: string; count: number }

/** Money in and out per day over the last 30 days, as a bar chart drawn in SVG (no chart library). */
export function ReportView({ version }: { version: number }) {
  const report = useRead(
    'report:summary:day',
    () => unwrap(api.GET('/v1/reports/summary', { params: { query: { granularity: 'day' } } })),
    version,
  )
  const periods = (report.data?.periods ?? []) as Period[]
  const byCurrency = new Map<string, Period[]>()
  for (const p of periods) byCurrency.set(p.currency, [...(byCurrency.get(p.currency) ?? []), p])
  return (
    <section aria-labelledby="report-title">
      <h2 id="report-title">Report</h2>
      {report.error && (
        <p className="error" role="alert">
          {report.error}
        </p>
      )}
      {!report.loading && periods.length === 0 && <p>No money moved in the last 30 days.</p>}
      {[...byCurrency].map(([currency, rows]) => (
        <Chart key={currency} currency={currency} rows={rows} />
      ))}
    </section>
  )
}

/** Totals per day, in (green) and out (red) side by side; a table carries the same numbers for screen readers. */
export function Chart({ currency, rows }: { currency: string; rows: Period[] }) {
  const days = [...new Set(rows.map((r) => r.period))].sort()
  const total = (day: string, direction: 'in' | 'out') =>
    rows
      .filter((r) => r.period === day && r.direction === direction)
      .reduce((s, r) => s + BigInt(r.total), 0n)
  const max = days.reduce(
    // biome-ignore lint/complexity/useMathMinMax: Math.max takes no bigint
    (m, d) => [total(d, 'in'), total(d, 'out'), m].reduce((a, b) => (a > b ? a : b)),
    1n,
  )
  const width = Math.max(days.length * 28, 120)
  const height = 120
  const bar = (value: bigint) => Math.max(1, Number((value * BigInt(height - 20)) / max))
  return (
    <figure data-testid={`chart-${currency}`}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Money in and out per day, ${currency}`}>
        {days.map((day, i) => {
          const x = i * 28 + 4
          const inH = bar(total(day, 'in'))
          const outH = bar(total(day, 'out'))
          return (
            <g key={day}>
              <rect x={x} y={height - 14 - inH} width={10} height={inH} className="in" />
              <rect x={x + 11} y={height - 14 - outH} width={10} height={outH} className="out" />
              <text x={x} y={height - 2} fontSize="8">
                {day.slice(5)}
              </text>
            </g>
          )
        })}
      </svg>
      <figcaption>
        <table>
          <caption>{currency}: in and out per day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">In</th>
              <th scope="col">Out</th>
            </tr>
          </thead>
          <tbody>
            {days.map((day) => (
              <tr key={day}>
                <th scope="row">{day}</th>
                <td>{formatMoney(total(day, 'in').toString(), currency)}</td>
                <td>{formatMoney(total(day, 'out').toString(), currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </figcaption>
    </figure>
  )
}
