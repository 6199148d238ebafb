#!/usr/bin/env node
// `npm run up`: the service locally, with its PostgreSQL and Redis, migrated and listening.
// Where a Docker engine answers: `docker compose up -d --build`. Otherwise the machine's own
// PostgreSQL and Redis (started when their binaries are installed and they are down), then build,
// migrate and serve in the foreground. Plain Node and only built-in modules at the top, so it runs
// on a fresh clone before anything is installed.
//
// Environment: .env (or .env.example when there is no .env), overridden by the process environment.
// UP_MODE=docker|local forces a path (default: docker when `docker info` succeeds).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { ensureNode } from './node-runtime.mjs'

// Node 24 first: on an older machine Node this re-runs the script under the project's own copy.
await ensureNode()

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const log = (msg) => console.log(`[up] ${msg}`)

function fail(msg) {
  console.error(`[up] ${msg}`)
  process.exit(1)
}

/** Runs a command to completion with inherited output; exits on failure. */
function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (result.status !== 0) fail(`${[cmd, ...args].join(' ')} failed (exit ${result.status ?? result.signal})`)
}

function succeeds(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: 'ignore', timeout: 15_000 })
  return result.status === 0
}

function hasBinary(name) {
  return succeeds('sh', ['-c', `command -v ${name}`])
}

/** True when something accepts TCP connections on host:port within the timeout. */
function reachable(host, port, timeoutMs = 1000) {
  return new Promise((done) => {
    const socket = connect({ host, port })
    const finish = (ok) => {
      socket.destroy()
      done(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 500))
  }
  fail(`${what} did not come up within ${timeoutMs / 1000} s`)
}

async function httpOk(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    return res.ok
  } catch {
    return false
  }
}

function loadEnv() {
  const file = ['.env', '.env.example'].map((f) => join(root, f)).find((f) => existsSync(f))
  const fromFile = file ? parseEnv(readFileSync(file, 'utf8')) : {}
  if (file) log(`configuration from ${file.slice(root.length + 1)} (the environment overrides it)`)
  return { env: { ...fromFile, ...process.env }, file }
}

const isLocal = (host) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)

async function ensurePostgres(databaseUrl) {
  const url = new URL(databaseUrl)
  const host = url.hostname || '127.0.0.1'
  const port = Number(url.port || 5432)
  if (await reachable(host, port)) return
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort() : []
  if (!isLocal(host) || !hasBinary('pg_ctlcluster') || versions.length === 0) {
    fail(
      `PostgreSQL is not answering on ${host}:${port} and cannot be started from here; start it or set DATABASE_URL`,
    )
  }
  const version = versions.at(-1)
  log(`starting PostgreSQL ${version} (pg_ctlcluster)`)
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'])
  await waitFor(`PostgreSQL on ${host}:${port}`, () => reachable(host, port), 30_000)
}

async function ensureRedis(redisUrl) {
  const first = redisUrl.split(',')[0]
  const url = new URL(first.includes('://') ? first : `redis://${first}`)
  const host = url.hostname || '127.0.0.1'
  const port = Number(url.port || 6379)
  if (await reachable(host, port)) return
  if (!isLocal(host) || !hasBinary('redis-server')) {
    fail(
      `Redis is not answering on ${host}:${port} and cannot be started from here; start it or set REDIS_URL`,
    )
  }
  log('starting Redis (redis-server --daemonize)')
  run('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
  ])
  await waitFor(`Redis on ${host}:${port}`, () => reachable(host, port), 15_000)
}

/** Creates the database DATABASE_URL names when it does not exist yet (pg is installed by now). */
async function ensureDatabase(databaseUrl) {
  const { default: pg } = await import(join(root, 'node_modules/pg/lib/index.js'))
  const target = new URL(databaseUrl)
  const name = decodeURIComponent(target.pathname.slice(1))
  if (!name) fail('DATABASE_URL names no database')
  const admin = new URL(databaseUrl)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (!rowCount) {
      log(`creating database "${name}"`)
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`)
    }
  } finally {
    await client.end()
  }
}

async function upWithDocker(env) {
  const compose = succeeds('docker', ['compose', 'version']) ? ['docker', 'compose'] : ['docker-compose']
  log(`Docker engine found: ${compose.join(' ')} up -d --build`)
  run(compose[0], [...compose.slice(1), 'up', '-d', '--build'])
  const port = env.APP_PORT ?? '3000'
  const url = `http://localhost:${port}`
  await waitFor(`the service at ${url}/health/ready`, () => httpOk(`${url}/health/ready`), 180_000)
  log(
    `ready: web app http://localhost:${env.WEB_PORT ?? '8080'}  API ${url}  (API reference: ${url}/docs; logs: ${compose.join(' ')} logs -f app)`,
  )
}

async function upLocally(env) {
  if (!env.DATABASE_URL || !env.REDIS_URL) fail('DATABASE_URL and REDIS_URL must be set (see .env.example)')
  await ensurePostgres(env.DATABASE_URL)
  await ensureRedis(env.REDIS_URL)
  await ensureDatabase(env.DATABASE_URL)

  log('generating the Prisma client and building the service and the web app')
  run('npm', ['run', 'db:generate', '-w', 'app'], { env })
  run('npm', ['run', 'build', '-w', 'app'], { env })
  run('npm', ['run', 'build', '-w', 'web'], { env })
  log('applying migrations')
  run(process.execPath, ['app/dist/src/db/migrate-cli.js'], { env })

  const apiHost = !env.HOST || env.HOST === '0.0.0.0' || env.HOST === '::' ? 'localhost' : env.HOST
  const apiUrl = `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${env.PORT ?? '3000'}`
  const webPort = Number(env.WEB_PORT ?? 5173)
  const webOrigins = [`http://localhost:${webPort}`, `http://127.0.0.1:${webPort}`]
  // The configured origins (.env: the dev server) plus the ones this run serves the app on.
  const configured = (env.WEB_ORIGINS ?? '').split(',').filter(Boolean)
  env.WEB_ORIGINS = [...new Set([...configured, ...webOrigins])].join(',')
  if (!env.S3_ENDPOINT) Object.assign(env, await startLocalS3(env, webOrigins))
  const { startWebServer } = await import('./web-server.mjs')
  const web = await startWebServer({ dir: join(root, 'web/dist'), apiUrl, host: '127.0.0.1', port: webPort })
  log(`web app: http://localhost:${webPort}`)

  const server = spawn(
    process.execPath,
    ['--import', './app/dist/src/telemetry/register.js', 'app/dist/src/server.js'],
    { cwd: root, env, stdio: 'inherit' },
  )
  // Ctrl-C reaches the server through the terminal's process group; a signal sent to this process
  // alone is passed on. Either way this process exits when the server has shut down.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (server.exitCode === null) server.kill(signal)
    })
  }
  const exited = new Promise((done) => server.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0))))

  const url = apiUrl
  const ready = Promise.race([
    waitFor(`the service at ${url}/health/ready`, () => httpOk(`${url}/health/ready`), 60_000).then(
      () => true,
    ),
    exited.then(() => false),
  ])
  if (await ready) {
    log(
      `ready: web app http://localhost:${webPort}  API ${url}  (API reference: ${url}/docs; Ctrl-C stops it)`,
    )
  }
  const code = await exited
  await web.close()
  process.exit(code)
}

/**
 * s3rver (an S3-compatible server from npm) in this process, with the uploads bucket and its CORS
 * rules for the web origins, so uploads and erasure work without Docker. Objects stay in .tmp/s3.
 */
async function startLocalS3(env, origins) {
  const { default: S3rver } = await import(join(root, 'node_modules/s3rver/lib/s3rver.js'))
  const { s3CorsXml } = await import('./web-server.mjs')
  const bucket = env.S3_BUCKET || 'uploads'
  const port = Number(env.LOCAL_S3_PORT ?? 4569)
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: join(root, '.tmp/s3'),
    configureBuckets: [{ name: bucket, configs: [s3CorsXml(origins)] }],
  })
  await server.run()
  log(`local S3 (s3rver): http://127.0.0.1:${port}/${bucket}`)
  // s3rver accepts exactly this key pair; local-only, never a real credential.
  return {
    S3_ENDPOINT: `http://127.0.0.1:${port}`,
    S3_BUCKET: bucket,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  }
}

async function main() {
  run(process.execPath, [join(root, 'scripts/ensure-deps.mjs')])
  const { env } = loadEnv()
  const mode = process.env.UP_MODE ?? (succeeds('docker', ['info']) ? 'docker' : 'local')
  if (mode === 'docker') return upWithDocker(env)
  if (mode !== 'local') fail(`UP_MODE must be docker or local, not "${mode}"`)
  log('no Docker engine: using local PostgreSQL and Redis')
  return upLocally(env)
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)))
