import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { setUserRole } from '../../src/features/auth/roles.js'
import { buildTestApp, LogCapture } from '../helpers/app.js'
import { startS3 } from '../helpers/s3.js'
import { bearer, login } from '../helpers/users.js'

const me = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) }).then((r) => r.statusCode)

describe('sessions follow the account', () => {
  let app: FastifyInstance

  before(async () => {
    app = await buildTestApp()
  })
  after(async () => {
    await app.close()
  })

  it('validates a session in one Redis round trip', async () => {
    const user = await login(app)
    const redis = app.redis as unknown as { sendCommand: (...args: unknown[]) => unknown }
    const original = redis.sendCommand
    let commands = 0
    redis.sendCommand = function (this: unknown, ...args: unknown[]) {
      // The session's commands only: the login's background work (its device failures cleared,
      // the relay pushing its security notice) shares the client and may land in this window.
      const command = args[0] as { args?: unknown[] }
      if ((command.args ?? []).some((a) => String(a).includes(`{${user.user.id}}`))) commands++
      return original.apply(this, args)
    }
    try {
      expect(await app.sessions.touch(user.token)).to.include({ userId: user.user.id })
    } finally {
      redis.sendCommand = original
    }
    expect(commands).to.equal(1)
  })

  it('answers a cached GET /v1/me with one Redis command: the session check reads the profile along', async () => {
    const user = await login(app)
    const get = () => app.inject({ method: 'GET', url: '/v1/me', headers: bearer(user.token) })
    expect((await get()).statusCode).to.equal(200) // loads and caches the profile
    const redis = app.redis as unknown as { sendCommand: (...args: unknown[]) => unknown }
    const original = redis.sendCommand
    const commands: string[] = []
    redis.sendCommand = function (this: unknown, ...args: unknown[]) {
      // This user's commands only: the instance's background work shares the client, and the outbox
      // relay may publish the login's security notice on this user's channel at any moment (late
      // on a busy machine), which is not part of answering the request.
      const command = args[0] as { name?: string; args?: unknown[] }
      const mine = (command.args ?? []).some((a) => String(a).includes(user.user.id))
      const push = (command.args ?? []).some((a) => String(a).includes('notify:'))
      if (mine && !push)
        commands.push(`${command.name} ${(command.args ?? []).map(String).join(' ').slice(0, 300)}`)
      return original.apply(this, args)
    }
    let cached: Awaited<ReturnType<typeof get>>
    try {
      cached = await get()
    } finally {
      redis.sendCommand = original
    }
    expect(cached.statusCode).to.equal(200)
    expect(cached.json()).to.include({ id: user.user.id, email: user.email })
    expect(commands, commands.join('\n')).to.have.length(1)

    // The profile rides on the session check, never instead of it: a revoked session is refused
    // although its user's profile is cached.
    await app.sessions.revokeAll(user.user.id)
    expect((await get()).statusCode).to.equal(401)
  })

  it('a demoted admin loses admin rights on the next request', async () => {
    const admin = await login(app)
    await setUserRole(app, admin.user.id, 'admin')
    const relogin = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: admin.email, password: admin.password },
    })
    const token = relogin.json().token as string
    const daily = () =>
      app
        .inject({
          method: 'GET',
          url: '/v1/admin/reports/daily?from=2026-01-01&to=2026-01-02',
          headers: bearer(token),
        })
        .then((r) => r.statusCode)
    expect(await daily()).to.equal(200)
    await setUserRole(app, admin.user.id, 'user')
    expect(await daily()).to.equal(401)
    const again = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: admin.email, password: admin.password },
    })
    expect(again.json().user.role).to.equal('user')
    const asUser = await app.inject({
      method: 'GET',
      url: '/v1/admin/reports/daily?from=2026-01-01&to=2026-01-02',
      headers: bearer(again.json().token),
    })
    expect(asUser.statusCode).to.equal(403)
  })

  it('ends a busy session at its absolute lifetime, however often it is used', async () => {
    const short = await buildTestApp({ SESSION_ABSOLUTE_TTL_SECONDS: '2' })
    try {
      const user = await login(short)
      const started = Date.now()
      while (Date.now() - started < 1500) {
        expect(await me(short, user.token)).to.equal(200)
        await new Promise((r) => setTimeout(r, 200))
      }
      await new Promise((r) => setTimeout(r, 2100 - (Date.now() - started)))
      expect(await me(short, user.token)).to.equal(401)
    } finally {
      await short.close()
    }
  })

  it('a heartbeat-style check does not slide the idle expiry', async () => {
    const user = await login(app)
    const before = await app.sessions.touch(user.token, { slide: false })
    await new Promise((r) => setTimeout(r, 1100))
    const after = await app.sessions.touch(user.token, { slide: false })
    // Without sliding, the expiry stays where it was (within clock rounding).
    expect(Math.abs((after?.expiresAt.getTime() ?? 0) - (before?.expiresAt.getTime() ?? 0))).to.be.below(50)
  })

  it('a login that read the account before an erasure cannot create a session after it', async () => {
    const user = await login(app)
    // The login's steps, interleaved with an erasure's atomic revocation.
    const generation = await app.sessions.generation(user.user.id)
    await app.sessions.revokeAll(user.user.id, { erased: true })
    let refused: unknown
    try {
      await app.sessions.create(user.user.id, 'user', generation)
    } catch (err) {
      refused = err
    }
    expect(refused).to.have.property('statusCode', 401)
    // And a login that starts afterwards is refused too, though its generation is fresh.
    let late: unknown
    try {
      await app.sessions.create(user.user.id, 'user', await app.sessions.generation(user.user.id))
    } catch (err) {
      late = err
    }
    expect(late).to.have.property('statusCode', 401)
    expect(await me(app, user.token)).to.equal(401)
  })

  it('no session survives an erasure that races logins and requests', async () => {
    const logs = new LogCapture()
    const s3 = await startS3()
    const app = await buildTestApp({ ...s3.env, LOG_LEVEL: 'error' }, logs)
    // Closed here, not in an after() registered from inside the test: mocha puts such a hook on the
    // root suite, so this app (and its outbox relay) outlived the file and took other suites' events.
    try {
      await raceEraseWithLogins(app, logs)
    } finally {
      await app.close()
      await s3.close()
    }
  })
})

/** Erases an account while eight logins of it run; then no token of it may still answer. */
async function raceEraseWithLogins(app: FastifyInstance, logs: LogCapture) {
  const user = await login(app)
  const logins = Array.from({ length: 8 }, () =>
    app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: user.password },
    }),
  )
  const erase = app.inject({
    method: 'DELETE',
    url: '/v1/me',
    headers: bearer(user.token),
    payload: { password: user.password },
  })
  const [erased, ...answers] = await Promise.all([erase, ...logins])
  expect(erased.statusCode, logs.raw.join('\n')).to.equal(200)
  const tokens = answers.filter((r) => r.statusCode === 200).map((r) => r.json().token as string)
  for (const token of [user.token, ...tokens]) expect(await me(app, token)).to.equal(401)
}
