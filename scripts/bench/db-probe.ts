/**
 * Preloaded into the service process by the benchmark only (`node --import
 * ./dist/src/telemetry/register.js --import ../scripts/bench/db-probe.ts dist/src/server.js`, from
 * app/; Node strips this file's types itself); the service code is not changed.
 *
 * It counts what the service really sends: every `pg` Client.query call is one round trip to
 * PostgreSQL (pg sends Parse/Bind/Execute/Sync in one write and waits for the answer), every new
 * pg connection is a connection set-up, every ioredis command is one Redis command. Each count is
 * attributed to the HTTP request whose async context issued it (AsyncLocalStorage entered at the
 * server's 'request' event), and split into before and after the response was finished, so
 * background work (outbox relay, health polling of the topology) is kept apart.
 *
 * The parent asks for a snapshot (and a reset) over the IPC channel, and switches the probe off
 * while it measures throughput: switched off, every patched prototype holds its original function
 * again, so the service runs exactly the code it runs in production (the anchors carry no probe).
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks'
import http from 'node:http'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { ProbeSnapshot, RouteCounts } from './probe-types.js'

interface RequestContext {
  route: string
  finished: boolean
}

const storage = new AsyncLocalStorage<RequestContext>()
let routes = new Map<string, RouteCounts>()
let background = emptyCounts()

function emptyCounts(): RouteCounts {
  return {
    requests: 0,
    dbBeforeResponse: 0,
    dbAfterResponse: 0,
    dbByTarget: {},
    dbInTransaction: 0,
    connects: 0,
    redisCommands: 0,
    statements: {},
  }
}

/** The counters of the request running now, or of background work. */
function current(): { counts: RouteCounts; finished: boolean } {
  const ctx = storage.getStore()
  if (!ctx) return { counts: background, finished: false }
  let counts = routes.get(ctx.route)
  if (!counts) {
    counts = emptyCounts()
    routes.set(ctx.route, counts)
  }
  return { counts, finished: ctx.finished }
}

/** First words of a statement, placeholders kept: enough to tell statements apart in a report. */
function fingerprint(query: unknown): string {
  const text =
    typeof query === 'string'
      ? query
      : typeof query === 'object' && query !== null && 'text' in query
        ? String((query as { text: unknown }).text)
        : '<unknown>'
  return text.replace(/\s+/g, ' ').trim().slice(0, 70)
}

/** Which database a client talks to: its application_name (writer or replica), else host:port. */
function targetOf(client: pg.Client): string {
  const params = (client as unknown as { connectionParameters?: Record<string, unknown> })
    .connectionParameters
  return String(params?.application_name || `${client.host}:${client.port}`)
}

// Clients between a BEGIN and its COMMIT or ROLLBACK (Prisma's interactive transactions, the relay).
const inTransaction = new WeakSet<pg.Client>()
const BEGIN = /^\s*(BEGIN|START TRANSACTION)\b/i
const END = /^\s*(COMMIT|ROLLBACK|END)\b/i

const originalQuery = pg.Client.prototype.query
const countedQuery = function (this: pg.Client, ...args: unknown[]) {
  const { counts, finished } = current()
  const text = fingerprint(args[0])
  if (inTransaction.has(this)) {
    counts.dbInTransaction++
    if (END.test(text)) inTransaction.delete(this)
  } else if (BEGIN.test(text)) inTransaction.add(this)
  if (finished) counts.dbAfterResponse++
  else {
    counts.dbBeforeResponse++
    const target = targetOf(this)
    counts.dbByTarget[target] = (counts.dbByTarget[target] ?? 0) + 1
  }
  const key = `${finished ? 'after' : 'before'}: ${text}`
  counts.statements[key] = (counts.statements[key] ?? 0) + 1
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args)
} as typeof pg.Client.prototype.query

const originalConnect = pg.Client.prototype.connect
const countedConnect = function (this: pg.Client, ...args: unknown[]) {
  current().counts.connects++
  return (originalConnect as (...a: unknown[]) => unknown).apply(this, args)
} as typeof pg.Client.prototype.connect

// A pool hands a freed client to a waiting caller from the releasing request's context; binding
// the callback keeps each query attributed to the request that asked for it.
const originalPoolConnect = pg.Pool.prototype.connect
const boundPoolConnect = function (this: pg.Pool, ...args: unknown[]) {
  const last = args.length - 1
  if (typeof args[last] === 'function') {
    args[last] = AsyncResource.bind(args[last] as (...a: unknown[]) => unknown)
  }
  return (originalPoolConnect as (...a: unknown[]) => unknown).apply(this, args)
} as typeof pg.Pool.prototype.connect

const originalSendCommand = Redis.prototype.sendCommand
const countedSendCommand = function (this: Redis, ...args: unknown[]) {
  current().counts.redisCommands++
  return (originalSendCommand as (...a: unknown[]) => unknown).apply(this, args)
} as typeof Redis.prototype.sendCommand

const originalEmit = http.Server.prototype.emit as (this: http.Server, ...a: unknown[]) => boolean
const attributedEmit = function (this: http.Server, event: string | symbol, ...args: unknown[]) {
  if (event !== 'request') return originalEmit.apply(this, [event, ...args])
  const req = args[0] as http.IncomingMessage
  const res = args[1] as http.ServerResponse
  const ctx: RequestContext = { route: `${req.method} ${(req.url ?? '').split('?')[0]}`, finished: false }
  const counts = routes.get(ctx.route) ?? emptyCounts()
  counts.requests++
  routes.set(ctx.route, counts)
  res.once('finish', () => {
    ctx.finished = true
  })
  return storage.run(ctx, () => originalEmit.apply(this, [event, ...args]))
} as typeof http.Server.prototype.emit

/** Puts the counting functions in place (`true`) or the originals back (`false`). */
function setActive(active: boolean) {
  pg.Client.prototype.query = active ? countedQuery : originalQuery
  pg.Client.prototype.connect = active ? countedConnect : originalConnect
  pg.Pool.prototype.connect = active ? boundPoolConnect : originalPoolConnect
  Redis.prototype.sendCommand = active ? countedSendCommand : originalSendCommand
  http.Server.prototype.emit = active ? attributedEmit : (originalEmit as typeof http.Server.prototype.emit)
}
setActive(true)

function snapshot(): ProbeSnapshot {
  return {
    routes: Object.fromEntries(routes),
    background,
    memory: process.memoryUsage(),
  }
}

process.on('message', (message: { type?: string; id?: number; reset?: boolean; active?: boolean }) => {
  if (message?.type !== 'bench:probe') return
  if (typeof message.active === 'boolean') setActive(message.active)
  const snap = snapshot()
  if (message.reset) {
    routes = new Map()
    background = emptyCounts()
  }
  process.send?.({ type: 'bench:probe', id: message.id, snapshot: snap })
})
