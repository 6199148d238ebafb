import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest, HttpError, notFound } from '../../platform/errors.js'
import { authErrors, errorRef, Int64Id } from '../../platform/schemas.js'
import { outsideTrace } from '../../telemetry/tracing.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'
import { type NotificationMessage, NotificationSchema, toMessage } from './message.js'
import { StreamCap } from './stream-cap.js'

// Shared format: ids past bigint are refused at validation (issue 10, finding 3).
const EventId = Int64Id

const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(EventId),
    unread: Type.Optional(Type.Boolean({ description: 'Only notifications not read yet' })),
  },
  { additionalProperties: false },
)

/** Unsent bytes a stream may hold for a slow client before it is closed. */
const MAX_BUFFERED_BYTES = 1024 * 1024

/** One SSE frame: the id lets the browser resend it as Last-Event-ID when it reconnects. */
function frame(message: NotificationMessage): string {
  const { userId: _user, ...data } = message
  return `id: ${message.id}\nevent: ${message.type}\ndata: ${JSON.stringify(data)}\n\n`
}

/** Largest event id PostgreSQL's bigint holds. */
const MAX_EVENT_ID = 9_223_372_036_854_775_807n

/**
 * The id a reconnecting client last saw, from the Last-Event-ID header (or ?lastEventId=). Out of
 * range is a 400 before the stream opens: EventSource does not reconnect after a non-200 answer,
 * whereas a stream that opened and then failed its replay would reconnect with the same id forever.
 */
function lastEventIdOf(header: string | string[] | undefined, query: string | undefined): bigint | undefined {
  const value = (Array.isArray(header) ? header[0] : header) ?? query
  if (value === undefined || value === '') return undefined
  if (!/^[0-9]{1,19}$/.test(value) || BigInt(value) > MAX_EVENT_ID) {
    throw badRequest('Invalid Last-Event-ID', [{ field: 'last-event-id', message: 'must be an event id' }])
  }
  return BigInt(value)
}

/**
 * Notifications: the SSE stream, the persisted list and read receipts (/v1/notifications).
 * Registered in the protected scope.
 */
const notifications: FastifyPluginAsyncTypebox<{ maxStreamsPerUser: number }> = async (app, opts) => {
  const { hub, streams, config } = app.notifications
  const cap = new StreamCap(app.redis, opts.maxStreamsPerUser, config.heartbeatMs)

  app.get(
    '/stream',
    {
      config: { longLived: true },
      schema: {
        tags: ['notifications'],
        summary: 'Server-Sent Events: live notifications of the user, from any instance',
        description:
          'Each event has `id` (send it back as `Last-Event-ID` when reconnecting to replay what was ' +
          'missed), `event` (the notification type) and `data` (the notification as JSON). A comment ' +
          'line arrives at least every 25 s. The stream ends when the session ends or the server stops.',
        security: sessionSecurity,
        headers: Type.Object({ 'last-event-id': Type.Optional(EventId) }),
        querystring: Type.Object({ lastEventId: Type.Optional(EventId) }, { additionalProperties: false }),
        response: {
          200: {
            description: 'An endless text/event-stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          400: errorRef,
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const owner = currentUserId(request)
      const lastEventId = lastEventIdOf(request.headers['last-event-id'], request.query.lastEventId)
      const token = app.sessionTokenOf(request)
      // 429 is final for EventSource too: a client over the cap does not hammer us with reconnects.
      const lease = await cap.admit(owner)
      if (!lease) {
        throw new HttpError(
          429,
          'TOO_MANY_STREAMS',
          `At most ${opts.maxStreamsPerUser} open streams per user`,
        )
      }

      // Subscribe before reading the replay, so nothing published in between is lost; what
      // arrives meanwhile waits in `pending` and duplicates of the replay are dropped.
      const pending: NotificationMessage[] = []
      let live = false
      const replayed = new Set<string>()
      let closed = false
      const raw = reply.raw
      const send = (message: NotificationMessage) => {
        if (replayed.has(message.id) || closed) return
        raw.write(frame(message))
        // A client that stops reading would make us buffer without bound: drop it; it can
        // reconnect and catch up with Last-Event-ID.
        if (raw.writableLength > MAX_BUFFERED_BYTES) close()
      }
      let unsubscribe: () => void
      try {
        unsubscribe = await hub.subscribe(owner, (message) => (live ? send(message) : pending.push(message)))
      } catch (err) {
        await lease.release().catch(() => undefined)
        throw err
      }

      let heartbeat: NodeJS.Timeout | undefined
      const close = () => {
        if (closed) return
        closed = true
        clearInterval(heartbeat)
        lease.release().catch(() => undefined)
        unsubscribe()
        streams.delete(close)
        raw.end()
      }
      streams.add(close)
      // The response's close fires when the client goes away (the request's may fire once its body is read).
      raw.on('close', close)

      reply.hijack()
      // Hijacked replies skip Fastify's header handling: carry over what hooks set (helmet, request id).
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) raw.setHeader(name, value)
      }
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store, no-transform',
        connection: 'keep-alive',
        // Proxies (nginx) must pass events through as they come.
        'x-accel-buffering': 'no',
      })
      raw.write('retry: 2000\n\n')

      try {
        if (lastEventId !== undefined) {
          // From the writer: a lagging replica would silently skip the newest missed events.
          const rows = await app.prisma.notification.findMany({
            where: { userId: owner, id: { gt: lastEventId } },
            orderBy: { id: 'asc' },
            take: config.replayLimit,
          })
          for (const row of rows) {
            const message = toMessage(row)
            send(message)
            replayed.add(message.id)
          }
        }
      } catch (err) {
        request.log.warn({ err: { message: (err as Error).message } }, 'notification replay failed')
        close()
        return
      }
      // The client may have gone while the replay waited for the database: its close ran before
      // there was a heartbeat to clear, and one started now would tick (and touch Redis) forever.
      if (closed) return
      for (const message of pending.splice(0)) send(message)
      live = true

      // Started outside the request's trace: the stream's span must not collect a span per tick.
      heartbeat = outsideTrace(setInterval)(async () => {
        raw.write(': heartbeat\n\n')
        // A revoked or expired session ends the stream rather than pushing to a logged-out user.
        // The check does not slide the session: an open stream alone keeps nobody logged in.
        try {
          if (!token || !(await app.sessions.touch(token, { slide: false }))) close()
          else await lease.renew()
        } catch {
          // Redis unreachable: keep the stream; the next heartbeat checks again.
        }
      }, config.heartbeatMs)
    },
  )

  app.get(
    '',
    {
      schema: {
        tags: ['notifications'],
        summary: "The user's notifications, newest first",
        security: sessionSecurity,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(NotificationSchema),
            nextCursor: Type.Union([EventId, Type.Null()]),
          }),
          400: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const { limit, cursor, unread } = request.query
      const rows = await (await request.reader()).notification.findMany({
        where: {
          userId: currentUserId(request),
          ...(cursor ? { id: { lt: BigInt(cursor) } } : {}),
          ...(unread ? { readAt: null } : {}),
        },
        orderBy: { id: 'desc' },
        take: limit + 1,
      })
      const page = rows.slice(0, limit).map(toMessage)
      return {
        items: page.map(({ userId: _user, ...item }) => item),
        nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      }
    },
  )

  app.post(
    '/:id/read',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Mark a notification read (idempotent; 404 for anybody else)',
        security: sessionSecurity,
        params: Type.Object({ id: EventId }),
        response: {
          200: Type.Object({ notification: NotificationSchema }),
          400: errorRef,
          404: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const owner = currentUserId(request)
      const id = BigInt(request.params.id)
      // The first read time stays; marking again changes nothing.
      await app.prisma.notification.updateMany({
        where: { id, userId: owner, readAt: null },
        data: { readAt: new Date() },
      })
      const row = await app.prisma.notification.findFirst({ where: { id, userId: owner } })
      if (!row) throw notFound('Notification not found')
      const { userId: _user, ...notification } = toMessage(row)
      return { notification }
    },
  )
}

export default notifications
