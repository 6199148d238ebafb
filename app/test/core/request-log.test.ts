import { expect } from 'chai'
import Fastify, { type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import pino from 'pino'
import { loggerOptions } from '../../src/build.js'
import { censorChildBindings } from '../../src/platform/log-redaction.js'
import { AccessLog } from '../../src/platform/request-log.js'
import { LogCapture, testConfig } from '../helpers/app.js'

/** The line as pino's own serializer writes it: what the access log replaced, kept as the reference. */
class PinoAccessLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(_error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}

async function serve(logController: LogController, stream: LogCapture) {
  // Both paths under the service's own logger options.
  const app = Fastify({
    logger: loggerOptions(testConfig({ LOG_LEVEL: 'info' }), stream),
    logController,
    genReqId: (req) => String(req.headers['x-request-id']),
    trustProxy: true,
  })
  censorChildBindings(app.log)
  app.get('/v1/things', async () => ({ ok: true }))
  app.get('/quiet', { logLevel: 'warn' }, async () => ({ ok: true }))
  await app.ready()
  return app
}

const request = {
  method: 'GET' as const,
  url: '/v1/things?q=my%20search&page=2',
  headers: {
    'x-request-id': 'req-1',
    authorization: 'Bearer secret-bearer-token',
    cookie: '__Host-sid=secret-cookie',
    'x-device-token': 'secret-device',
    'x-forwarded-for': '203.0.113.9',
    // Characters JSON must escape, and one it may not leave raw in a JavaScript string.
    'user-agent': 'agent "quoted" \\ back\u2028slash é',
  },
}

/** A line with its clock readings replaced: what two loggers can agree on byte for byte. */
const timeless = (line: string) =>
  line.replace(/"time":\d+/, '"time":0').replace(/"responseTime":[\d.e-]+/, '"responseTime":0')

async function completedLines(inject: (app: Awaited<ReturnType<typeof serve>>) => Promise<unknown>) {
  const ours = new LogCapture()
  const theirs = new LogCapture()
  const apps = [await serve(new AccessLog(), ours), await serve(new PinoAccessLog(), theirs)]
  try {
    for (const app of apps) await inject(app)
  } finally {
    for (const app of apps) await app.close()
  }
  const completed = (capture: LogCapture) =>
    capture.raw.filter((l) => l.includes('"msg":"request completed"'))
  return { ours: completed(ours).map(timeless), theirs: completed(theirs).map(timeless) }
}

describe('the access log line', () => {
  // Trace ids on this line come from the mixin's path; telemetry/journey.test.ts checks them in a
  // real process with the SDK.
  it('is byte for byte pino’s line', async () => {
    const lines = await completedLines((app) => app.inject(request))
    expect(lines.ours).to.have.length(1)
    expect(lines.ours).to.deep.equal(lines.theirs)
  })

  it('leaves a multistream to pino (it wants each line’s level alongside)', async () => {
    const capture = new LogCapture()
    const app = await serve(new AccessLog(), pino.multistream([{ stream: capture }]) as unknown as LogCapture)
    try {
      await app.inject(request)
    } finally {
      await app.close()
    }
    expect(capture.lines.filter((l) => l.msg === 'request completed')).to.have.length(1)
  })

  it('is the line pino writes for the same request, field for field and in the same order', async () => {
    const ours = new LogCapture()
    const theirs = new LogCapture()
    const apps = [await serve(new AccessLog(), ours), await serve(new PinoAccessLog(), theirs)]
    try {
      for (const app of apps) expect((await app.inject(request)).statusCode).to.equal(200)
    } finally {
      for (const app of apps) await app.close()
    }
    const completed = (capture: LogCapture) => {
      const line = capture.lines.find((l) => l.msg === 'request completed') as Record<string, unknown>
      expect(line, 'a request completed line').to.be.an('object')
      const { time, responseTime, ...rest } = line
      expect(time).to.be.a('number')
      expect(responseTime).to.be.a('number')
      return rest
    }
    const mine = completed(ours)
    expect(mine).to.deep.equal(completed(theirs))
    expect(Object.keys(mine)).to.deep.equal(Object.keys(completed(theirs)))
    expect(mine).to.deep.include({ reqId: 'req-1', res: { statusCode: 200 } })
    expect(mine.req).to.deep.include({
      method: 'GET',
      url: '/v1/things?q=[redacted]&page=2',
      remoteAddress: '203.0.113.9',
    })
    const raw = ours.raw.join('\n')
    for (const secret of ['secret-bearer-token', 'secret-cookie', 'secret-device', 'my%20search']) {
      expect(raw).not.to.include(secret)
    }
  })

  it('follows the route’s log level: a route at warn writes none', async () => {
    const capture = new LogCapture()
    const app = await serve(new AccessLog(), capture)
    try {
      await app.inject({ ...request, url: '/quiet' })
      await app.inject(request)
    } finally {
      await app.close()
    }
    const urls = capture.lines
      .filter((l) => l.msg === 'request completed')
      .map((l) => (l.req as { url: string }).url)
    expect(urls).to.deep.equal(['/v1/things?q=[redacted]&page=2'])
  })
})
