import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import { buildTestApp } from './helpers/app.js'
import { bearer, login } from './helpers/users.js'
import { instancePairWithStreams, type Running } from './transactions.support.js'

describe('notifications: stream limits', () => {
  const pair = instancePairWithStreams('sse-cap', {
    NOTIFICATIONS_MAX_STREAMS_PER_USER: '2',
    NOTIFICATIONS_HEARTBEAT_MS: '300',
  })
  const { open } = pair
  let a: Running
  let b: Running
  before(() => {
    ;({ a, b } = pair)
  })

  it('caps open streams per user across instances with a final 429, and frees a place on close', async () => {
    const user = await login(a.app)
    const first = await open(a, user.token)
    const second = await open(b, user.token)
    expect([first.status, second.status]).to.deep.equal([200, 200])
    const third = await fetch(`${a.url}/v1/notifications/stream`, { headers: bearer(user.token) })
    expect(third.status).to.equal(429)
    expect(((await third.json()) as { error: { code: string } }).error.code).to.equal('TOO_MANY_STREAMS')
    // Another user is not affected.
    const other = await login(a.app)
    expect((await open(b, other.token)).status).to.equal(200)
    // Closing one frees its place.
    first.close()
    let retry = 0
    for (let i = 0; i < 20 && retry !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const res = await fetch(`${b.url}/v1/notifications/stream`, { headers: bearer(user.token) })
      retry = res.status
      await res.body?.cancel()
    }
    expect(retry).to.equal(200)
  })

  it('answers an out-of-range Last-Event-ID with 400 before the stream opens (no reconnect loop)', async () => {
    const user = await login(a.app)
    for (const id of ['9223372036854775808', '9999999999999999999']) {
      const res = await fetch(`${a.url}/v1/notifications/stream`, {
        headers: { ...bearer(user.token), 'last-event-id': id },
      })
      expect(res.status, id).to.equal(400)
      expect(res.headers.get('content-type')).to.match(/application\/json/)
    }
    // The largest valid id opens the stream and replays nothing.
    const max = await open(a, user.token, { 'last-event-id': '9223372036854775807' })
    expect(max.status).to.equal(200)
  })

  it('serves the stream with Cache-Control: no-store', async () => {
    const user = await login(a.app)
    const res = await fetch(`${a.url}/v1/notifications/stream`, { headers: bearer(user.token) })
    expect(res.headers.get('cache-control')).to.match(/no-store/)
    await res.body?.cancel()
  })
})

describe('notifications: a stream closed while its replay waits', () => {
  it('starts no heartbeat for a client that left during the replay', async function () {
    this.timeout(20_000)
    const app = await buildTestApp({
      DATABASE_POOL_MAX: '1',
      NOTIFICATIONS_HEARTBEAT_MS: '50',
      OUTBOX_RELAY_ENABLED: 'false',
      IDEMPOTENCY_SWEEP_INTERVAL_MS: '3600000',
    })
    try {
      const user = await login(app)
      await app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = app.server.address() as AddressInfo
      let touches = 0
      const touch = app.sessions.touch.bind(app.sessions)
      app.sessions.touch = (...args) => {
        touches++
        return touch(...args)
      }
      // The pool's one connection is busy: the replay waits for it while the client goes away.
      // Prisma's promises are lazy: `then` sends the query now.
      const holding = app.prisma.$queryRaw`SELECT pg_sleep(0.6)::text`.then(() => {})
      const aborted = new AbortController()
      const res = await fetch(`http://127.0.0.1:${port}/v1/notifications/stream`, {
        headers: { ...bearer(user.token), 'last-event-id': '1' },
        signal: aborted.signal,
      })
      expect(res.status).to.equal(200)
      const afterOpen = touches
      aborted.abort()
      await holding
      await new Promise((r) => setTimeout(r, 400))
      // Eight heartbeats' time after the replay ended: none ran for the departed client.
      expect(touches - afterOpen).to.equal(0)
    } finally {
      await app.close()
    }
  })
})
