/** The hot-path ratios of a run: each service route against the anchor it is judged by. */

/** Closed-loop successful answers per second of each anchor, measured in the same run. */
export interface AnchorRates {
  bare: number
  redis: number
  pg: number
  /** pgbench TPC-B transactions per second. */
  tpcb: number
}

/** One row of the ratio table. */
export interface RatioRow {
  target: string
  rps: number
  /** Which anchor the ratio is against. */
  of: keyof AnchorRates | ''
  ratio: number
  /** Req/s of the anchor measured right before this row, which the ratio is against. */
  anchorRps?: number
  /** The goal for this ratio, if it has one. */
  goal?: number
}

/**
 * Anchor rows (ratio to bare Fastify) then service rows against their anchor: the measurement of
 * it taken right before the row (`anchorRps`) where there is one, else the anchor's own row.
 */
export function ratioRows(
  anchors: AnchorRates,
  service: readonly {
    target: string
    rps: number
    of: keyof AnchorRates
    anchorRps?: number
    goal?: number
  }[],
): RatioRow[] {
  const of = (rps: number, anchor: keyof AnchorRates, next?: number) => {
    const base = next ?? anchors[anchor]
    return base > 0 ? rps / base : Number.NaN
  }
  return [
    { target: 'bare Fastify with a response schema', rps: anchors.bare, of: 'bare', ratio: 1 },
    { target: 'Fastify + one Redis GET', rps: anchors.redis, of: 'bare', ratio: of(anchors.redis, 'bare') },
    { target: 'Fastify + one pg SELECT by key', rps: anchors.pg, of: 'bare', ratio: of(anchors.pg, 'bare') },
    { target: 'pgbench TPC-B (10 clients)', rps: anchors.tpcb, of: '', ratio: Number.NaN },
    ...service.map((s) => ({
      target: s.target,
      rps: s.rps,
      of: s.of,
      ratio: of(s.rps, s.of, s.anchorRps),
      anchorRps: s.anchorRps,
      goal: s.goal,
    })),
  ]
}

/** The ratio table as text: `!` marks a ratio below its goal. */
export function formatRatios(rows: readonly RatioRow[]): string {
  const name: Record<string, string> = {
    bare: 'bare',
    redis: 'redis anchor',
    pg: 'pg anchor',
    tpcb: 'TPC-B',
    '': '',
  }
  const cells = rows.map((r) => [
    r.target,
    Number.isFinite(r.rps) ? r.rps.toFixed(0) : '-',
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)} of ${name[r.of]}` : '',
    r.anchorRps !== undefined && Number.isFinite(r.anchorRps) ? r.anchorRps.toFixed(0) : '',
    r.goal !== undefined ? `>= ${r.goal}` : '',
    r.goal !== undefined && !(r.ratio >= r.goal) ? '!' : '',
  ])
  const header = ['target', 'req/s', 'ratio', 'anchor just before', 'goal', '']
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)))
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === 1 || i === 3 ? x.padStart(widths[i] as number) : x.padEnd(widths[i] as number)))
      .join('  ')
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}
