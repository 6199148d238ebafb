import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { freePort } from '../../scripts/kit/net.js'
import { Cache } from '../src/platform/cache/cache.js'
import { createRedisClient } from '../src/platform/redis.js'
import { buildTestApp } from './helpers/app.js'
import { freshRedisPrefix, services } from './helpers/services.js'
import { bearer, login } from './helpers/users.js'

const quiet = { warn() {} }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function redisClient(url = services.redisUrl, keyPrefix = freshRedisPrefix()): Redis | Cluster {
  return createRedisClient({ url, cluster: false, keyPrefix, connectTimeoutMs: 500, commandTimeoutMs: 500 })
}

/** A loader that counts its calls and takes `ms` to answer. */
function counter<T>(value: () => T, ms = 0) {
  const loader = async () => {
    loader.calls++
    // Read first, then take time: like a query whose snapshot predates what happens meanwhile.
    const result = value()
    if (ms) await sleep(ms)
    return result
  }
  loader.calls = 0
  return loader
}

async function ready(client: Redis | Cluster) {
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r))
}

describe('cache-aside helper', () => {
  const clients: (Redis | Cluster)[] = []
  const connect = async (prefix: string) => {
    const c = redisClient(services.redisUrl, prefix)
    clients.push(c)
    await ready(c)
    return c
  }
  after(() => {
    for (const c of clients) c.disconnect()
  })

  it('loads once, then serves from Redis to every instance until the TTL', async () => {
    const prefix = freshRedisPrefix()
    const a = new Cache(await connect(prefix), quiet)
    const b = new Cache(await connect(prefix), quiet)
    const load = counter(() => ({ n: 1 }))
    expect(await a.getOrLoad('ns', 'k', 1, load)).to.deep.equal({ n: 1 })
    expect(await b.getOrLoad('ns', 'k', 1, load)).to.deep.equal({ n: 1 })
    expect(load.calls).to.equal(1)
    await sleep(1100)
    await b.getOrLoad('ns', 'k', 1, load)
    expect(load.calls).to.equal(2)
  })

  it('reloads after invalidation, on every instance', async () => {
    const prefix = freshRedisPrefix()
    const a = new Cache(await connect(prefix), quiet)
    const b = new Cache(await connect(prefix), quiet)
    let value = 'old'
    const load = counter(() => value)
    expect(await a.getOrLoad('user:1', 'profile', 60, load)).to.equal('old')
    value = 'new'
    expect(await b.getOrLoad('user:1', 'profile', 60, load)).to.equal('old')
    await a.invalidate('user:1')
    expect(await b.getOrLoad('user:1', 'profile', 60, load)).to.equal('new')
  })

  it('never serves what a load that raced a write read before it', async () => {
    const a = new Cache(await connect(freshRedisPrefix()), quiet)
    let value = 'before write'
    const slow = counter(() => value, 150)
    const racing = a.getOrLoad('ns', 'k', 60, slow)
    await sleep(20)
    // The write commits and invalidates while the slow load is still running.
    value = 'after write'
    await a.invalidate('ns')
    expect(await racing).to.equal('before write')
    expect(
      await a.getOrLoad(
        'ns',
        'k',
        60,
        counter(() => value),
      ),
    ).to.equal('after write')
  })

  it('collapses concurrent misses into one load per instance (single-flight)', async () => {
    const a = new Cache(await connect(freshRedisPrefix()), quiet)
    const load = counter(() => 42, 50)
    const results = await Promise.all(Array.from({ length: 50 }, () => a.getOrLoad('ns', 'hot', 60, load)))
    expect(results.every((r) => r === 42)).to.equal(true)
    expect(load.calls).to.equal(1)
  })

  it('lets one instance load a hot key while the others wait for its result (Redis lock)', async () => {
    const prefix = freshRedisPrefix()
    const instances = await Promise.all([1, 2, 3, 4].map(async () => new Cache(await connect(prefix), quiet)))
    const load = counter(() => 'v', 200)
    const results = await Promise.all(
      instances.flatMap((cache) => Array.from({ length: 10 }, () => cache.getOrLoad('ns', 'hot', 60, load))),
    )
    expect(results.every((r) => r === 'v')).to.equal(true)
    expect(load.calls).to.equal(1)
  })

  it('falls back to the loader, quickly, when Redis is unavailable', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await freePort()
    const dead = redisClient(`redis://127.0.0.1:${port}`)
    clients.push(dead)
    dead.on('error', () => {})
    const cache = new Cache(dead, quiet)
    const load = counter(() => 'from database')
    const started = Date.now()
    expect(await cache.getOrLoad('ns', 'k', 60, load)).to.equal('from database')
    expect(await cache.getOrLoad('ns', 'k', 60, load)).to.equal('from database')
    await cache.invalidate('ns')
    expect(Date.now() - started).to.be.below(1000)
    expect(load.calls).to.equal(2)
    expect(cache.stats.redisErrors).to.be.greaterThan(0)
  })
})

describe('cached profile and preferences (GET /v1/me, /v1/me/preferences)', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app?.close()
  })

  it('serves the profile from the cache and refreshes it after PATCH /v1/me', async () => {
    const user = await login(app, { name: 'Ada' })
    const get = async () =>
      (await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })).json()
    expect((await get()).name).to.equal('Ada')
    // Changed behind the API's back: the cached copy is still served.
    await app.prisma.user.update({ where: { id: user.user.id }, data: { name: 'Changed in SQL' } })
    expect((await get()).name).to.equal('Ada')

    const patch = await app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { name: 'Grace' },
    })
    expect(patch.statusCode).to.equal(200)
    expect((await get()).name).to.equal('Grace')
  })

  it('refreshes cached preferences after PUT /v1/me/preferences', async () => {
    const user = await login(app)
    const get = async () =>
      (await app.inject({ method: 'GET', url: '/v1/me/preferences', headers: bearer(user.token) })).json()
        .preferences
    expect(await get()).to.deep.equal({})
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/me/preferences',
      headers: bearer(user.token),
      payload: { preferences: { theme: 'dark' } },
    })
    expect(put.statusCode).to.equal(200)
    expect(await get()).to.deep.equal({ theme: 'dark' })
  })
})
