/**
 * The local copy of session checks on a real three-master Redis Cluster, two instances: an
 * announcement is published on the master of the user's slot, and reaches other nodes over the
 * cluster bus, late when the bus is slow. Every instance listens on every master, so a logout that
 * returned is refused everywhere however slow the bus.
 */
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { sleep, waitUntil } from '../../../scripts/kit/net.js'
import { TcpProxy } from '../../../scripts/kit/tcp-proxy.js'
import { buildTestApp } from '../helpers/app.js'
import { redisBinariesAvailable, startRedisCluster } from '../helpers/redis-cluster.js'
import { isPush, isScript, redisCommandsDuring } from '../helpers/redis-commands.js'
import { freshRedisPrefix } from '../helpers/services.js'
import { bearer, login } from '../helpers/users.js'

describe('session cache on a Redis Cluster (two instances)', function () {
  this.timeout(90_000)
  let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
  let a: FastifyInstance
  let b: FastifyInstance

  before(async function () {
    if (!redisBinariesAvailable()) {
      console.log('      (redis-server not installed: cluster tests skipped)')
      this.skip()
    }
    cluster = await startRedisCluster()
    const env = {
      REDIS_URL: cluster.ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
      REDIS_CLUSTER: 'true',
      REDIS_KEY_PREFIX: freshRedisPrefix(),
      // The first test registers users until 15 have their slot off node 0.
      REGISTER_MAX_PER_IP: '1000',
    }
    a = await buildTestApp(env)
    b = await buildTestApp(env)
    await waitUntil('both copies live', 10_000, () => [a, b].every((app) => app.sessions.localCopy?.isLive))
  })
  after(async () => {
    await Promise.all([a?.close(), b?.close()])
    cluster?.stop()
  })

  const me = (app: FastifyInstance, token: string) =>
    app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) }).then((r) => r.statusCode)

  /** Session scripts `app` runs while `work` does: 0 means the check was answered locally. */
  const scriptsDuring = async (app: FastifyInstance, work: () => Promise<unknown>) =>
    (await redisCommandsDuring(app, work)).filter((c) => isScript(c) && !isPush(c)).length

  it('a logout that returned is refused by the other instance, with the cluster bus 200 ms slow', async () => {
    const [port0] = cluster?.ports ?? []
    const node0 = new Redis({ port: Number(port0) })
    const proxy = new TcpProxy('127.0.0.1', Number(port0) + 10_000, 200)
    try {
      const slots = await node0.cluster('SLOTS')
      const onNode0 = (slot: number) =>
        slots.some(([lo, hi, master]) => master?.[1] === port0 && slot >= lo && slot <= hi)
      await proxy.up()
      // Peers reach node 0's bus through the slow proxy from now on.
      await node0.config('SET', 'cluster-announce-bus-port', String(proxy.port))
      await sleep(3000)
      let tried = 0
      let accepted = 0
      while (tried < 15) {
        const user = await login(a)
        const slot = Number(await node0.cluster('KEYSLOT', `user:{${user.user.id}}:state`))
        // A user whose announcement is published elsewhere and crosses the slow bus to node 0.
        if (onNode0(slot)) continue
        for (let i = 0; i < 2; i++) expect(await me(b, user.token)).to.equal(200)
        if (!b.sessions.localCopy?.isLive) continue
        // The copy is in use: b answers this one without a session script.
        expect(await scriptsDuring(b, async () => expect(await me(b, user.token)).to.equal(200))).to.equal(0)
        tried++
        const out = await a.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
        expect(out.statusCode).to.equal(204)
        if ((await me(b, user.token)) === 200) accepted++
      }
      expect(accepted, `revoked sessions accepted by the other instance, of ${tried}`).to.equal(0)
    } finally {
      await node0.config('SET', 'cluster-announce-bus-port', '0')
      await proxy.down()
      node0.disconnect()
    }
  })

  it('comes back by itself after the connections to one master are cut', async () => {
    const [port0] = cluster?.ports ?? []
    const node0 = new Redis({ port: Number(port0) })
    try {
      // Every plain client of node 0: both instances' pool connections and their subscribers there.
      await node0.call('CLIENT', 'KILL', 'TYPE', 'normal')
      await node0.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    } catch {
      // The kill ends this connection too.
    } finally {
      node0.disconnect()
    }
    // Traffic on every slot: the pool meets the dead connections and replaces them (new objects).
    const until = performance.now() + 1000
    for (let i = 0; performance.now() < until; i++) {
      await Promise.all([a, b].map((app) => app.redis.get(`traffic:${i}`).catch(() => null)))
    }
    await waitUntil('both copies live again', 10_000, () =>
      [a, b].every((app) => app.sessions.localCopy?.isLive === true),
    )
    const user = await login(a)
    for (let i = 0; i < 2; i++) expect(await me(b, user.token)).to.equal(200)
    expect(await scriptsDuring(b, async () => expect(await me(b, user.token)).to.equal(200))).to.equal(0)
    const out = await a.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
    expect(out.statusCode).to.equal(204)
    expect(await me(b, user.token)).to.equal(401)
  })

  it('a profile change on one instance is read by the other at once', async () => {
    const user = await login(a)
    expect(await me(a, user.token)).to.equal(200)
    for (let i = 0; i < 3; i++) expect(await me(b, user.token)).to.equal(200)
    const patch = await a.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { name: 'Katherine Johnson' },
    })
    expect(patch.statusCode).to.equal(200)
    const read = await b.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
    expect(read.json().name).to.equal('Katherine Johnson')
  })
})
