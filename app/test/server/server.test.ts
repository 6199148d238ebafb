import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, testEnv } from '../helpers/app.js'
import { parseEnvFile } from '../helpers/env-file.js'
import { runServerToExit, type ServerProcess, startServer } from '../helpers/process.js'
import { freshRedisPrefix } from '../helpers/services.js'
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/users.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

describe('the real server on a port', function () {
  this.timeout(60_000)
  let server: ServerProcess | undefined

  afterEach(() => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL')
    server = undefined
  })

  it('refuses to start with a bad environment, listing every problem at once', async () => {
    const { code, output } = await runServerToExit({ PORT: 'x', REDIS_CLUSTER: 'perhaps' })
    expect(code).to.equal(1)
    for (const name of ['PORT', 'REDIS_CLUSTER', 'DATABASE_URL', 'REDIS_URL']) expect(output).to.include(name)
    expect(output.match(/invalid configuration/g)).to.have.length(1)
  })

  it('serves requests and reports where it listens', async () => {
    server = await startServer()
    const res = await fetch(`${server.url}/health/ready`)
    expect(res.status).to.equal(200)
    expect(server.output()).to.match(/"msg":"listening on http:\/\/127\.0\.0\.1:\d+"/)
  })

  it('writes a quiet service’s access line within a tenth of a second or so (buffered, flushed on a timer)', async () => {
    server = await startServer()
    const before = server.output().length
    expect((await fetch(`${server.url}/v1/me`)).status).to.equal(401)
    const sent = Date.now()
    // Nothing else is written: only the periodic flush can bring the line out of the 4 KiB buffer.
    while (!server.output().slice(before).includes('"url":"/v1/me"') && Date.now() - sent < 2000) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(server.output().slice(before), 'access line on stdout').to.include('"url":"/v1/me"')
    expect(Date.now() - sent).to.be.below(500)
  })

  it('on SIGTERM with stdout stalled (the log driver blocks), still exits within a second or so of draining', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/src/server.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...testEnv(),
        LOG_LEVEL: 'info',
        PORT: '0',
        HOST: '127.0.0.1',
      } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      let out = ''
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk
          const match = /listening on (http:\/\/[\d.:]+)/.exec(out)
          if (match) resolve(match[1] as string)
        })
        child.once('exit', () => reject(new Error(`exited before listening:\n${out}`)))
      })
      // Nobody reads stdout from here on: the pipe fills (64 KiB) and the rest queues in the service.
      child.stdout.pause()
      for (let i = 0; i < 40; i++) {
        await Promise.all(
          Array.from({ length: 10 }, () => fetch(`${url}/v1/me`).then((r) => r.arrayBuffer())),
        )
      }
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      const signalled = Date.now()
      child.kill('SIGTERM')
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8000))])
      expect(code, 'exit code (hung: the exit hook retrying a write that cannot land)').to.equal(0)
      expect(Date.now() - signalled).to.be.below(5000)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('starts from .env.example as is', async () => {
    const example = parseEnvFile(resolve(root, '.env.example'))
    // Only the port (3000 may be taken on a developer machine) and the key namespace differ.
    server = await startServer({ REDIS_KEY_PREFIX: freshRedisPrefix() }, example)
    const res = await fetch(`${server.url}/health/live`)
    expect(res.status).to.equal(200)
  })

  it('on SIGTERM finishes the in-flight request, turns new connections away, and exits 0', async () => {
    server = await startServer()
    const { url } = server
    // An in-flight request under the test's control: its body arrives in two halves, around SIGTERM.
    const body = JSON.stringify({ email: uniqueEmail(), password: GOOD_PASSWORD, name: 'In flight' })
    const socket = connect(Number(new URL(url).port), '127.0.0.1')
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    let answer = ''
    socket.on('data', (d) => {
      answer += d
    })
    const answered = new Promise<void>((resolve) => socket.on('end', () => resolve()))
    socket.write(
      `POST /v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    )
    socket.write(body.slice(0, 10))
    await new Promise((r) => setTimeout(r, 100))

    server.child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    const during = await fetch(`${url}/health/live`).then(
      (res) => res.status,
      () => 'refused' as const,
    )
    expect(during).to.be.oneOf(['refused', 503])
    expect(server.child.exitCode, 'still draining').to.equal(null)

    socket.write(body.slice(10))
    await answered
    expect(answer).to.match(/^HTTP\/1.1 201/)
    const exit = await server.exited
    expect(exit.code).to.equal(0)
    expect(server.output()).to.include('shutdown complete')
  })

  it('exits 1 at the shutdown deadline when a request never completes', async () => {
    server = await startServer({ SHUTDOWN_TIMEOUT_MS: '700' })
    const port = Number(new URL(server.url).port)
    // A request whose body never finishes arriving keeps the server draining.
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    socket.write(
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em',
    )
    await new Promise((r) => setTimeout(r, 100))
    const signalled = Date.now()
    server.child.kill('SIGTERM')
    const exit = await server.exited
    socket.destroy()
    expect(exit.code).to.equal(1)
    expect(exit.at - signalled).to.be.within(600, 5000)
    expect(server.output()).to.include('shutdown deadline reached')
  })
})

describe('keep-alive', () => {
  let app: FastifyInstance
  let port: number
  before(async () => {
    app = await buildTestApp({ KEEP_ALIVE_TIMEOUT_MS: '400' })
    await app.listen({ host: '127.0.0.1', port: 0 })
    port = (app.server.address() as { port: number }).port
  })
  after(async () => {
    await app.close()
  })

  it('uses the configured keep-alive timeout (65 s by default, above the ALB 60 s idle timeout)', async () => {
    expect(app.server.keepAliveTimeout).to.equal(400)
    expect(app.server.headersTimeout).to.be.greaterThan(app.server.keepAliveTimeout)
    const defaults = await buildTestApp()
    try {
      expect(defaults.server.keepAliveTimeout).to.equal(65_000)
    } finally {
      await defaults.close()
    }
  })

  it('keeps an idle connection open until the keep-alive timeout, then closes it', async () => {
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    let answered = ''
    socket.on('data', (d) => {
      answered += d
    })
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())))
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((r) => setTimeout(r, 200))
    expect(answered).to.match(/^HTTP\/1.1 200/)
    const answeredAt = Date.now()
    // Still usable before the timeout.
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((r) => setTimeout(r, 150))
    expect(answered.match(/HTTP\/1.1 200/g)).to.have.length(2)
    const closedAt = await closed
    expect(closedAt - answeredAt).to.be.within(300, 2000)
  })
})
