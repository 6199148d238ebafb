import { expect } from 'chai'
import { RELAY_LOCK_KEY } from '../src/features/notifications/relay.js'
import { fundingWebhook } from './helpers/funding.js'
import { redisBinariesAvailable, startRedisCluster } from './helpers/redis-cluster.js'
import { bearer, login } from './helpers/users.js'
import {
  dbClient,
  deposit,
  instancePairWithStreams,
  openAccount,
  post,
  type Running,
  SseClient,
  startInstance,
} from './transactions.support.js'

describe('notifications: SSE across instances, replay, list and read', () => {
  // Two instances sharing the database and the Redis namespace, like two tasks behind the ALB.
  // B runs no relay: whatever reaches B's clients went A -> outbox -> relay on A -> Redis -> B.
  const pair = instancePairWithStreams('sse', {
    NOTIFICATIONS_HEARTBEAT_MS: '300',
    OUTBOX_RELAY_INTERVAL_MS: '100',
  })
  const { open, prefix, streams } = pair
  let a: Running
  let b: Running
  before(() => {
    ;({ a, b } = pair)
  })

  it('delivers an event caused by a request on instance A to the stream held on instance B', async () => {
    const user = await login(a.app)
    const account = await openAccount(a.app, user.token)
    const stream = await open(b, user.token)
    expect(stream.status).to.equal(200)

    const funding = fundingWebhook(account, 1234)
    const res = await fetch(`${a.url}/v1/funding/webhook`, {
      method: 'POST',
      headers: funding.headers,
      body: funding.payload,
    })
    expect(res.status).to.equal(201)
    const { transaction } = (await res.json()) as { transaction: { id: string } }

    const event = await stream.next((e) => e.event === 'deposit.received')
    expect(event.id).to.match(/^[0-9]+$/)
    const data = JSON.parse(event.data as string)
    expect(data.id).to.equal(event.id)
    expect(data.payload).to.include({
      transactionId: transaction.id,
      amount: '1234',
      currency: 'EUR',
      toAccountId: account,
    })
    // The relay publishes the message the database built (relay_outbox): it must be what the
    // stored notification reads as, field for field, formats included.
    const listed = await a.app.inject({
      method: 'GET',
      url: '/v1/notifications?limit=100',
      headers: bearer(user.token),
    })
    const stored = (listed.json() as { items: { id: string }[] }).items.find((n) => n.id === event.id)
    expect(data).to.deep.equal(stored)
  })

  it('tells the sender "transfer.out" and the recipient "transfer.in", each on their own stream', async () => {
    const alice = await login(a.app)
    const bob = await login(a.app)
    const from = await openAccount(a.app, alice.token)
    const to = await openAccount(a.app, bob.token)
    await deposit(a.app, alice.token, from, 100)
    const aliceStream = await open(b, alice.token)
    const bobStream = await open(a, bob.token)
    const res = await post(a.app, alice.token, {
      type: 'transfer',
      amount: '40',
      currency: 'EUR',
      fromAccountId: from,
      toAccountId: to,
    })
    expect(res.statusCode).to.equal(201)
    const out = await aliceStream.next((e) => e.event?.startsWith('transfer') ?? false)
    const inbound = await bobStream.next((e) => e.event?.startsWith('transfer') ?? false)
    expect(out.event).to.equal('transfer.out')
    expect(inbound.event).to.equal('transfer.in')
    expect(JSON.parse(inbound.data as string).payload.amount).to.equal('40')
    // Nobody receives another user's events.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(bobStream.events.filter((e) => e.event === 'transfer.out')).to.deep.equal([])
  })

  it('replays what was missed after Last-Event-ID, in order, and nothing before it', async () => {
    const user = await login(a.app)
    const account = await openAccount(a.app, user.token)
    const first = await open(b, user.token)
    await deposit(a.app, user.token, account, 1)
    const seen = await first.next((e) => e.event === 'deposit.received')
    first.close()

    await deposit(a.app, user.token, account, 2)
    await deposit(a.app, user.token, account, 3)
    // Let the relay persist both while nobody listens.
    await new Promise((resolve) => setTimeout(resolve, 500))

    const again = await open(b, user.token, { 'last-event-id': seen.id as string })
    await again.until(() => (again.events.length >= 2 ? true : undefined), 5000, 'two replayed events')
    const amounts = again.events.map((e) => JSON.parse(e.data as string).payload.amount)
    expect(amounts).to.deep.equal(['2', '3'])
    expect(again.events.every((e) => BigInt(e.id as string) > BigInt(seen.id as string))).to.equal(true)
  })

  it('also takes the last event id as ?lastEventId= (clients that cannot set headers)', async () => {
    const user = await login(a.app)
    const account = await openAccount(a.app, user.token)
    const first = await open(b, user.token)
    await deposit(a.app, user.token, account, 5)
    const seen = await first.next((e) => e.event === 'deposit.received')
    first.close()
    await deposit(a.app, user.token, account, 6)
    await new Promise((resolve) => setTimeout(resolve, 400))
    const again = await SseClient.open(
      `${b.url}/v1/notifications/stream?lastEventId=${seen.id}`,
      bearer(user.token),
    )
    streams.push(again)
    const replayed = await again.next((e) => e.event === 'deposit.received')
    expect(JSON.parse(replayed.data as string).payload.amount).to.equal('6')
  })

  it('relays every outbox event exactly once with several relays running at the same time', async () => {
    const user = await login(a.app)
    const total = 300
    await Promise.all(
      Array.from({ length: total }, (_, seq) => a.app.notify(user.user.id, 'upload.completed', { seq })),
    )
    // A's own loop plus explicit runs of both instances' relays, all at once.
    const relays = [a.app.notifications.relay, b.app.notifications.relay]
    for (let round = 0; round < 20; round++) {
      const moved = await Promise.all([...relays, ...relays].map((r) => r.runOnce()))
      if (moved.every((n) => n === 0)) break
    }
    const db = await dbClient()
    try {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n, count(DISTINCT payload->>'seq')::int AS distinct_seq
         FROM notifications WHERE user_id = $1 AND type = 'upload.completed'`,
        [user.user.id],
      )
      expect(rows[0]).to.deep.equal({ n: total, distinct_seq: total })
      const left = await db.query('SELECT count(*)::int AS n FROM outbox_events WHERE user_id = $1', [
        user.user.id,
      ])
      expect(left.rows[0].n).to.equal(0)
    } finally {
      await db.end()
    }
  })

  it('runs relays one at a time, so notification ids grow in commit order and replay never skips one', async () => {
    const user = await login(a.app)
    await a.app.notify(user.user.id, 'upload.completed', { seq: 'turn' })
    const db = await dbClient()
    try {
      await db.query('BEGIN')
      await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [RELAY_LOCK_KEY])
      let finished = false
      const run = b.app.notifications.relay.runOnce().then(() => {
        finished = true
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(finished, 'a relay ran while another one held the turn').to.equal(false)
      await db.query('COMMIT')
      await run
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND payload->>'seq' = 'turn'`,
        [user.user.id],
      )
      expect(rows[0].n).to.equal(1)
    } finally {
      await db.query('ROLLBACK').catch(() => {})
      await db.end()
    }
  })

  it('sends a heartbeat comment at the configured interval', async () => {
    const user = await login(a.app)
    const stream = await open(b, user.token)
    await stream.until(() => (stream.comments.includes('heartbeat') ? true : undefined), 2000, 'a heartbeat')
  })

  it('accepts the session cookie and refuses a stream without a session (401)', async () => {
    const user = await login(a.app)
    const viaCookie = await SseClient.open(`${b.url}/v1/notifications/stream`, {
      cookie: `__Host-sid=${user.cookie}`,
    })
    streams.push(viaCookie)
    expect(viaCookie.status).to.equal(200)
    const anonymous = await fetch(`${b.url}/v1/notifications/stream`)
    expect(anonymous.status).to.equal(401)
  })

  it('ends the stream once the session is revoked', async () => {
    const user = await login(a.app)
    const stream = await open(b, user.token)
    await a.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
    await stream.until(() => (stream.ended ? true : undefined), 3000, 'the stream to end')
  })

  it('announces a new login as a security event', async () => {
    const user = await login(a.app)
    const stream = await open(b, user.token)
    const again = await a.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'user-agent': 'spec-agent' },
      payload: { email: user.email, password: user.password },
    })
    expect(again.statusCode).to.equal(200)
    // The helper's own login may arrive too; the one made here names its user agent.
    const event = await stream.next(
      (e) => e.event === 'security.login' && JSON.parse(e.data as string).payload.userAgent === 'spec-agent',
    )
    expect(JSON.parse(event.data as string).payload.ip).to.equal('127.0.0.1')
  })

  it('delivers what other features queue with app.notify (upload completed)', async () => {
    const user = await login(a.app)
    const stream = await open(b, user.token)
    await a.app.notify(user.user.id, 'upload.completed', { uploadId: 'u-1', fileName: 'a.pdf' })
    const event = await stream.next((e) => e.event === 'upload.completed')
    expect(JSON.parse(event.data as string).payload).to.deep.equal({ uploadId: 'u-1', fileName: 'a.pdf' })
  })

  it('commits a notification only with the database transaction that queued it', async () => {
    const user = await login(a.app)
    await a.app.prisma
      .$transaction(async (tx) => {
        await a.app.notify(user.user.id, 'upload.completed', { uploadId: 'rolled-back' }, tx)
        throw new Error('abort')
      })
      .catch(() => {})
    await a.app.notify(user.user.id, 'upload.completed', { uploadId: 'kept' })
    await new Promise((resolve) => setTimeout(resolve, 400))
    const res = await a.app.inject({
      method: 'GET',
      url: '/v1/notifications?limit=100',
      headers: bearer(user.token),
    })
    const ids = res
      .json()
      .items.filter((n: { type: string }) => n.type === 'upload.completed')
      .map((n: { payload: { uploadId: string } }) => n.payload.uploadId)
    expect(ids).to.deep.equal(['kept'])
  })

  it('lists notifications newest first with a cursor and marks one read; 404 for others', async () => {
    const user = await login(a.app)
    const account = await openAccount(a.app, user.token)
    for (let i = 1; i <= 3; i++) await deposit(a.app, user.token, account, i)
    const list = async (query: string) => {
      const res = await a.app.inject({
        method: 'GET',
        url: `/v1/notifications?${query}`,
        headers: bearer(user.token),
      })
      return res.json() as {
        items: { id: string; type: string; readAt: string | null; payload: { amount?: string } }[]
        nextCursor: string | null
      }
    }
    // Three deposits plus the login's security event, once the relay moved them.
    let all = await list('limit=100')
    for (let tries = 0; all.items.length < 4 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      all = await list('limit=100')
    }
    expect(all.items.map((n) => n.type)).to.deep.equal([
      'deposit.received',
      'deposit.received',
      'deposit.received',
      'security.login',
    ])
    expect(all.items.map((n) => n.payload.amount).slice(0, 3)).to.deep.equal(['3', '2', '1'])

    const page1 = await list('limit=2')
    const page2 = await list(`limit=2&cursor=${page1.nextCursor}`)
    expect([...page1.items, ...page2.items].map((n) => n.id)).to.deep.equal(all.items.map((n) => n.id))
    expect(page2.nextCursor).to.equal(null)

    const target = all.items[0]?.id as string
    const read = await a.app.inject({
      method: 'POST',
      url: `/v1/notifications/${target}/read`,
      headers: bearer(user.token),
    })
    expect(read.statusCode).to.equal(200)
    expect(read.json().notification.readAt).to.be.a('string')
    const unread = await list('unread=true&limit=100')
    expect(unread.items.map((n) => n.id)).not.to.include(target)
    expect(unread.items).to.have.length(3)

    const stranger = await login(a.app)
    const foreign = await a.app.inject({
      method: 'POST',
      url: `/v1/notifications/${target}/read`,
      headers: bearer(stranger.token),
    })
    expect(foreign.statusCode).to.equal(404)
  })

  it('closes open streams at shutdown without holding it up', async () => {
    const extra = await startInstance({ REDIS_KEY_PREFIX: prefix, OUTBOX_RELAY_ENABLED: 'false' })
    const user = await login(a.app)
    const stream = await open(extra, user.token)
    expect(stream.status).to.equal(200)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(extra.app.notifications.streams.size).to.equal(1)
    const started = Date.now()
    await extra.app.close()
    expect(Date.now() - started).to.be.below(2000)
    await stream.until(() => (stream.ended ? true : undefined), 2000, 'the stream to end')
  })
})

describe('notifications with REDIS_CLUSTER=true (a real three-node Redis Cluster)', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
  let a: Running
  let b: Running

  before(async function () {
    if (!redisBinariesAvailable()) this.skip()
    this.timeout(30_000)
    cluster = await startRedisCluster()
    const common = {
      REDIS_URL: cluster.ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
      REDIS_CLUSTER: 'true',
      REDIS_KEY_PREFIX: 'cluster-spec:',
      OUTBOX_RELAY_INTERVAL_MS: '100',
    }
    a = await startInstance(common)
    b = await startInstance({ ...common, OUTBOX_RELAY_ENABLED: 'false' })
  })
  after(async () => {
    await Promise.all([a?.app.close(), b?.app.close()])
    cluster?.stop()
  })

  it('delivers an event from instance A to a stream on instance B through the cluster', async () => {
    const user = await login(a.app)
    const account = await openAccount(a.app, user.token)
    const stream = await SseClient.open(`${b.url}/v1/notifications/stream`, bearer(user.token))
    try {
      expect(stream.status).to.equal(200)
      await deposit(a.app, user.token, account, 77)
      const event = await stream.next((e) => e.event === 'deposit.received')
      expect(JSON.parse(event.data as string).payload.amount).to.equal('77')
    } finally {
      stream.close()
    }
  })
})
