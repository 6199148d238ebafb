import { expect } from 'chai'
import pino from 'pino'
import { buildServer, loggerOptions } from '../../src/build.js'
import {
  CENSOR,
  censorChildBindings,
  censorHeaders,
  censorSecrets,
} from '../../src/platform/log-redaction.js'
import { LogCapture, testConfig } from '../helpers/app.js'

describe('log redaction', () => {
  it('censors credential headers in a copy, and keeps the others', () => {
    const headers = { authorization: 'Bearer abc', cookie: 'sid=1', 'x-device-token': 'dev', host: 'api' }
    const copy = censorHeaders(headers)
    expect(copy).to.deep.equal({
      authorization: CENSOR,
      cookie: CENSOR,
      'x-device-token': CENSOR,
      host: 'api',
    })
    expect(headers.authorization).to.equal('Bearer abc')
    expect(censorHeaders({ host: 'api' })).to.not.have.property('authorization')
  })

  it('censors secret fields at the top, one level down, in a body batch and in Set-Cookie', () => {
    const line = {
      password: 'p0',
      user: { id: 'u1', token: 't1', passwordHash: 'h1' },
      body: { password: 'p1', current: { password: 'p2', email: 'a@b' } },
      res: { headers: { 'set-cookie': 'sid=secret', 'content-type': 'json' } },
      msgCount: 3,
    }
    const out = censorSecrets(line)
    expect(out).to.deep.equal({
      password: CENSOR,
      user: { id: 'u1', token: CENSOR, passwordHash: CENSOR },
      body: { password: CENSOR, current: { password: CENSOR, email: 'a@b' } },
      res: { headers: { 'set-cookie': CENSOR, 'content-type': 'json' } },
      msgCount: 3,
    })
    // The caller's objects are untouched.
    expect(line.password).to.equal('p0')
    expect(line.user.token).to.equal('t1')
    expect(line.body.current.password).to.equal('p2')
    expect(line.res.headers['set-cookie']).to.equal('sid=secret')
  })

  it('passes a line without secrets through as it is, without copying', () => {
    const user = { id: 'u1' }
    const line = { user, count: 1, list: [1, 2] }
    const out = censorSecrets(line)
    expect(out).to.equal(line)
    expect(out.user).to.equal(user)
  })

  it('keeps an error an error when it carries a secret', () => {
    const err = Object.assign(new TypeError('bad token'), { token: 't1' })
    const out = censorSecrets({ err }) as { err: TypeError & { token: string } }
    expect(out.err).to.be.instanceOf(TypeError)
    expect(out.err.message).to.equal('bad token')
    expect(out.err.stack).to.equal(err.stack)
    expect(out.err.token).to.equal(CENSOR)
    expect(err.token).to.equal('t1')
  })

  it('the service logger writes no secret, and keeps the error serialized', () => {
    const stream = new LogCapture()
    const options = loggerOptions(testConfig({ LOG_LEVEL: 'info' }), stream)
    const log = pino(options as pino.LoggerOptions, stream)
    const err = Object.assign(new Error('refused'), { token: 'tok-err' })
    log.info({ password: 'pw-top', account: { token: 'tok-nested' } }, 'careless')
    log.error({ err }, 'failed')
    const all = stream.raw.join('\n')
    for (const secret of ['pw-top', 'tok-nested', 'tok-err']) expect(all).not.to.include(secret)
    const failed = stream.lines.find((l) => l.msg === 'failed') as { err: Record<string, unknown> }
    expect(failed.err).to.include({ type: 'Error', message: 'refused', token: CENSOR })
    expect(failed.err.stack).to.be.a('string')
  })

  it('censors an error that refers to itself, and secrets it inherits', () => {
    const stream = new LogCapture()
    const log = pino(loggerOptions(testConfig({ LOG_LEVEL: 'info' }), stream) as pino.LoggerOptions, stream)
    const looped = Object.assign(new Error('looped'), { token: 'tok-self' }) as Error & {
      self?: Error
      token: string
    }
    looped.self = looped
    const base = Object.assign(Object.create(Error.prototype) as object, { token: 'tok-inherited' })
    const inherited = Object.create(base) as Error
    Object.defineProperty(inherited, 'message', { value: 'inherited' })
    log.error({ err: looped }, 'looped')
    log.error({ err: inherited }, 'inherited')
    const all = stream.raw.join('\n')
    expect(all).to.include('"msg":"looped"').and.to.include('"msg":"inherited"')
    for (const secret of ['tok-self', 'tok-inherited']) expect(all).not.to.include(secret)
    expect(looped.token).to.equal('tok-self')
  })

  it('censors the bindings of child loggers, their children and the service’s request loggers', async () => {
    const stream = new LogCapture()
    const log = censorChildBindings(
      pino(loggerOptions(testConfig({ LOG_LEVEL: 'info' }), stream) as pino.LoggerOptions, stream),
    )
    const child = log.child({ component: 'mail', token: 'tok-bound', link: { token: 'tok-bound-nested' } })
    child.info('sent')
    child.child({ password: 'pw-bound' }).info('nested child')
    const all = stream.raw.join('\n')
    for (const secret of ['tok-bound', 'pw-bound']) expect(all).not.to.include(secret)
    const sent = stream.lines.find((l) => l.msg === 'sent') as Record<string, unknown>
    expect(sent).to.include({ component: 'mail', token: CENSOR, pid: process.pid })
    expect(sent.link).to.deep.equal({ token: CENSOR })
    expect(stream.lines.find((l) => l.msg === 'nested child')).to.include({
      component: 'mail',
      token: CENSOR,
      password: CENSOR,
    })

    // The service wires it in: a route's child of the request logger is censored too.
    const served = new LogCapture()
    const app = await buildServer(testConfig({ LOG_LEVEL: 'info' }), { logStream: served })
    try {
      app.get('/bound', async (request) => {
        request.log.child({ token: 'tok-route' }).info('bound in a route')
        return { ok: true }
      })
      await app.ready()
      expect((await app.inject({ method: 'GET', url: '/bound' })).statusCode).to.equal(200)
    } finally {
      await app.close()
    }
    const line = served.lines.find((l) => l.msg === 'bound in a route') as Record<string, unknown>
    expect(line).to.include({ token: CENSOR })
    expect(line.reqId).to.be.a('string')
    expect(served.raw.join('\n')).not.to.include('tok-route')
  })
})
