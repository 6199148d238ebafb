import { availableParallelism } from 'node:os'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfig } from '../../src/config.js'
import { hashConcurrencyFor, threadPoolSizeFor } from '../../src/contract.js'
import {
  HashingLimiter,
  HashingOverloadedError,
  type ShedReason,
} from '../../src/features/auth/hashing-limiter.js'
import { appPerSuite, testEnv } from '../helpers/app.js'
import { register } from '../helpers/users.js'

/** A task that finishes when the test says so. */
function gate() {
  let open!: () => void
  const done = new Promise<void>((r) => {
    open = r
  })
  return { open, task: () => done }
}

describe('hashing limiter', () => {
  it('hashes on half the cores by default, at least one, and takes PASSWORD_HASH_CONCURRENCY as given', () => {
    expect([1, 2, 3, 4, 8, 16].map(hashConcurrencyFor)).to.deep.equal([1, 1, 1, 2, 4, 8])
    expect(hashConcurrencyFor(0.5)).to.equal(1)
    const defaults = loadConfig(
      testEnv({ PASSWORD_HASH_CONCURRENCY: undefined, UV_THREADPOOL_SIZE: undefined }),
    )
    // Half the cores, leaving one of libuv's four default threads free of hashes at least.
    expect(defaults.passwords.limits.concurrency).to.equal(
      Math.max(1, Math.min(Math.floor(availableParallelism() / 2), 3)),
    )
    expect(loadConfig(testEnv({ PASSWORD_HASH_CONCURRENCY: '3' })).passwords.limits.concurrency).to.equal(3)
  })

  it('refuses to boot with hashes that would hold every libuv thread, and says what to set', () => {
    expect(() =>
      loadConfig(testEnv({ PASSWORD_HASH_CONCURRENCY: '4', UV_THREADPOOL_SIZE: undefined })),
    ).to.throw(
      ConfigError,
      /PASSWORD_HASH_CONCURRENCY \(4\) must be below UV_THREADPOOL_SIZE \(4, libuv's default\).*set UV_THREADPOOL_SIZE=8/,
    )
    expect(() => loadConfig(testEnv({ PASSWORD_HASH_CONCURRENCY: '6', UV_THREADPOOL_SIZE: '6' }))).to.throw(
      ConfigError,
      /PASSWORD_HASH_CONCURRENCY \(6\) must be below UV_THREADPOOL_SIZE \(6\)/,
    )
    // A pool of one has no thread to spare for even one hash.
    expect(() =>
      loadConfig(testEnv({ PASSWORD_HASH_CONCURRENCY: undefined, UV_THREADPOOL_SIZE: '1' })),
    ).to.throw(ConfigError, /UV_THREADPOOL_SIZE \(1\)/)
    expect(() => loadConfig(testEnv({ UV_THREADPOOL_SIZE: '0' }))).to.throw(
      ConfigError,
      /UV_THREADPOOL_SIZE must be/,
    )
    const wide = loadConfig(
      testEnv({ PASSWORD_HASH_CONCURRENCY: '8', UV_THREADPOOL_SIZE: String(threadPoolSizeFor(8)) }),
    )
    expect(wide.passwords.limits.concurrency).to.equal(8)
    expect(threadPoolSizeFor(8)).to.equal(12)
  })

  it('runs at most `concurrency` tasks at once and starts the waiting ones in arrival order', async () => {
    const limiter = new HashingLimiter({ concurrency: 2, queueMax: 10, queueTimeoutMs: 5000 })
    const gates = Array.from({ length: 5 }, gate)
    const started: number[] = []
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i)
        await g.task()
      }),
    )
    await new Promise((r) => setImmediate(r))
    expect(started).to.deep.equal([0, 1])
    expect(limiter.active).to.equal(2)
    expect(limiter.queueDepth).to.equal(3)
    gates[1]?.open()
    await new Promise((r) => setImmediate(r))
    expect(started).to.deep.equal([0, 1, 2])
    for (const g of gates) g.open()
    await Promise.all(runs)
    expect(started).to.deep.equal([0, 1, 2, 3, 4])
    expect(limiter.active).to.equal(0)
    expect(limiter.queueDepth).to.equal(0)
  })

  it('sheds at once with 503 + Retry-After when the queue is full, and reports each shed', async () => {
    const limiter = new HashingLimiter({ concurrency: 1, queueMax: 1, queueTimeoutMs: 5000 })
    const shed: ShedReason[] = []
    limiter.onShed = (reason) => shed.push(reason)
    const g = gate()
    const first = limiter.run(g.task)
    const second = limiter.run(async () => 'ran')
    const third = limiter.run(async () => 'ran')
    const err = await third.catch((e: unknown) => e)
    expect(err).to.be.instanceOf(HashingOverloadedError)
    expect((err as HashingOverloadedError).statusCode).to.equal(503)
    expect(Number((err as HashingOverloadedError).headers?.['retry-after'])).to.be.at.least(1)
    expect(shed).to.deep.equal(['queue-full'])
    g.open()
    await first
    expect(await second).to.equal('ran')
  })

  it('sheds a task that waited longer than queueTimeoutMs instead of starting it late', async () => {
    const limiter = new HashingLimiter({ concurrency: 1, queueMax: 5, queueTimeoutMs: 30 })
    const shed: ShedReason[] = []
    limiter.onShed = (reason) => shed.push(reason)
    const g = gate()
    const first = limiter.run(g.task)
    let ran = false
    const late = limiter.run(async () => {
      ran = true
    })
    const err = await late.catch((e: unknown) => e)
    expect(err).to.be.instanceOf(HashingOverloadedError)
    expect(shed).to.deep.equal(['queue-timeout'])
    expect(limiter.queueDepth).to.equal(0)
    g.open()
    await first
    expect(ran).to.equal(false)
    // The slot is free again: the next task runs.
    expect(await limiter.run(async () => 42)).to.equal(42)
  })

  it('frees the slot when a task fails', async () => {
    const limiter = new HashingLimiter({ concurrency: 1, queueMax: 0, queueTimeoutMs: 100 })
    await limiter.run(() => Promise.reject(new Error('boom'))).catch(() => {})
    expect(await limiter.run(async () => 'ok')).to.equal('ok')
  })
})

describe('login storm', () => {
  let app: FastifyInstance
  // Production cost, one hash at a time, one waiting: a storm of 12 must shed most of itself.
  appPerSuite(
    {
      PASSWORD_ARGON2_MEMORY_KIB: '19456',
      PASSWORD_ARGON2_PASSES: '2',
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE_MAX: '1',
      LOGIN_MAX_PER_IP: '1000',
      LOGIN_MAX_PER_ACCOUNT: '1000',
    },
    (built) => {
      app = built
    },
  )

  it('answers the overflow 503 with Retry-After, never anything else, while health keeps answering', async function () {
    this.timeout(60_000)
    const account = await register(app)
    let maxActive = 0
    const sampler = setInterval(() => {
      maxActive = Math.max(maxActive, app.passwords.limiter.active)
    }, 1)
    const logins = Array.from({ length: 12 }, () =>
      app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: account.email, password: account.password },
      }),
    )
    const health = await app.inject({ method: 'GET', url: '/health/live' })
    const answers = await Promise.all(logins)
    clearInterval(sampler)
    expect(health.statusCode).to.equal(200)
    const codes = answers.map((r) => r.statusCode)
    expect(codes.filter((c) => c !== 200 && c !== 503)).to.deep.equal([])
    expect(codes.filter((c) => c === 200).length).to.be.within(1, 11)
    const shed = answers.filter((r) => r.statusCode === 503)
    expect(shed.length).to.be.at.least(1)
    for (const r of shed) {
      expect(Number(r.headers['retry-after'])).to.be.at.least(1)
      expect(r.json().error.code).to.equal('OVERLOADED')
    }
    expect(maxActive).to.equal(1)
  })
})
