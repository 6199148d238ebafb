// Plain-text rendering of an estimate: line items grouped by category, the total, then the
// assumptions, so the reader sees what the number rests on.
import type { Estimate } from './estimate.js'

const usd = (n: number) =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`

/** The estimate as a fixed-width text report. */
export function formatEstimate(e: Estimate): string {
  const out: string[] = []
  out.push(
    `Monthly cost estimate: stack ${e.stack} (${e.region}), on-demand list prices as of ${e.pricesAsOf}`,
  )
  out.push('')
  const categories = [...new Set(e.lines.map((l) => l.category))]
  const width = Math.max(...e.lines.map((l) => l.resource.length), 10)
  for (const c of categories) {
    const lines = e.lines.filter((l) => l.category === c)
    const subtotal = lines.reduce((s, l) => s + l.monthly, 0)
    out.push(`${c} (${usd(subtotal)})`)
    for (const l of lines)
      out.push(`  ${l.resource.padEnd(width)}  ${usd(l.monthly).padStart(12)}  ${l.detail}`)
  }
  out.push('')
  out.push(`TOTAL per month: ${usd(e.total)}`)
  if (e.maxScaleExtra > 0) out.push(`At the autoscaling maximum: ${usd(e.total + e.maxScaleExtra)}`)
  out.push('')
  out.push('Assumptions (override with --assume key=value):')
  for (const [k, v] of Object.entries(e.assumptions)) out.push(`  ${k} = ${v}`)
  const unpriced = Object.entries(e.unpriced)
  if (unpriced.length) {
    out.push('')
    out.push(`No standing charge of their own: ${unpriced.map(([t, n]) => `${n} ${t}`).join(', ')}`)
  }
  for (const n of e.notes) out.push(`Note: ${n}`)
  return `${out.join('\n')}\n`
}
