/**
 * A real OTLP/HTTP receiver for tests: accepts what an SDK exports with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json and keeps it for assertions, flattened into spans and
 * metric points.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

type AnyValue = {
  stringValue?: string
  intValue?: string | number
  doubleValue?: number
  boolValue?: boolean
}
type KeyValue = { key: string; value: AnyValue }

/** One received span with its attributes as plain values. */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  /** Start time, milliseconds since the epoch. */
  startMs: number
  scope: string
  attributes: Record<string, string | number | boolean | undefined>
  resource: Record<string, string | number | boolean | undefined>
}

/** One received metric data point. */
export interface ReceivedPoint {
  metric: string
  unit: string
  kind: 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram'
  attributes: Record<string, string | number | boolean | undefined>
  /** Value of a sum or gauge point; count of a histogram point. */
  value: number
  sum?: number
}

/** A started receiver; `endpoint` goes into OTEL_EXPORTER_OTLP_ENDPOINT. */
export interface OtlpReceiver {
  endpoint: string
  spans: ReceivedSpan[]
  points: ReceivedPoint[]
  /** Request paths received, to tell that a signal arrived at all. */
  paths: string[]
  close(): Promise<void>
}

function plain(value: AnyValue | undefined): string | number | boolean | undefined {
  if (!value) return undefined
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  return value.boolValue
}

function attrs(list: KeyValue[] | undefined) {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]))
}

/** Starts a receiver on a free port of 127.0.0.1. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const points: ReceivedPoint[] = []
  const paths: string[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      paths.push(req.url ?? '')
      const doc = body ? JSON.parse(body) : {}
      if (req.url === '/v1/traces') collectSpans(doc, spans)
      if (req.url === '/v1/metrics') collectPoints(doc, points)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    points,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

// biome-ignore lint/suspicious/noExplicitAny: OTLP JSON, checked by the assertions that read it
function collectSpans(doc: any, into: ReceivedSpan[]) {
  for (const rs of doc.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        into.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
          scope: ss.scope?.name ?? '',
          attributes: attrs(s.attributes),
          resource,
        })
      }
    }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: OTLP JSON, checked by the assertions that read it
function collectPoints(doc: any, into: ReceivedPoint[]) {
  for (const rm of doc.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        for (const kind of ['sum', 'gauge', 'histogram', 'exponentialHistogram'] as const) {
          for (const p of m[kind]?.dataPoints ?? []) {
            const value = kind.endsWith('istogram') ? Number(p.count) : Number(p.asDouble ?? p.asInt ?? 0)
            into.push({
              metric: m.name,
              unit: m.unit ?? '',
              kind,
              attributes: attrs(p.attributes),
              value,
              sum: p.sum,
            })
          }
        }
      }
    }
  }
}
