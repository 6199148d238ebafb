/**
 * `npm run image:test`: builds the project's Dockerfile for real, runs the image's migration command
 * and then its entrypoint against local PostgreSQL and Redis, checks /health/ready and a real API
 * round trip, stops it with SIGTERM, and reports the image size against the budget for what the
 * project adds over the base image. Everything it creates is removed, on failure too.
 *
 * Environment (all optional):
 *   IMAGE_TEST_ENGINE=docker|podman       default: docker when an engine answers, else podman
 *   IMAGE_TEST_NODE_IMAGE=ref             base image to build on (podman default: the local stand-in)
 *   IMAGE_TEST_CONTEXT=worktree|head      build the working tree (default) or the last commit
 *   IMAGE_TEST_BUDGET_MB=150              budget for the layers above the base image
 *   IMAGE_TEST_TIMEOUT_S=1500             the whole run, build included
 *   IMAGE_TEST_PG_URL, IMAGE_TEST_REDIS_URL   servers to use (local defaults)
 *   IMAGE_TEST_CACHE                      where the stand-in's debootstrap tarball is kept
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createScratchDatabase, deleteKeys, freePort, newRedisPrefix, waitForOk } from '../kit/index.js'
import { ensureStandIn, removeTree, STAND_IN_LABEL } from './base-image.js'
import {
  detectEngine,
  type Engine,
  type ImageConfig,
  imageExists,
  imageHistory,
  inspectImage,
  removeImageQuietly,
} from './engine.js'
import { type Background, killAll, run, signal, tailOf } from './exec.js'
import { healthcheckArgv, type ImageRuntime, prepareRuntime, scriptArgv } from './runtime.js'
import { appliedMigrations, registerAndLogin } from './service-checks.js'
import { layersAboveBase, MB, mb, parseDu, stepLabel } from './size-report.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const TAG = 'localhost/blueprint-app:image-test'
const HOST_CA = process.env.IMAGE_TEST_CA_BUNDLE ?? '/etc/ssl/certs/ca-certificates.crt'
const budgetMb = Number(process.env.IMAGE_TEST_BUDGET_MB ?? 150)
const totalTimeoutMs = Number(process.env.IMAGE_TEST_TIMEOUT_S ?? 1500) * 1000
const pgUrl = process.env.IMAGE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const redisUrl = process.env.IMAGE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

const startedAt = Date.now()
// Once an abort has begun, the main flow only sees the failures the abort itself caused: keep quiet.
let aborting = false
const log = (msg: string) => {
  if (!aborting) console.log(`[image] ${msg}`)
}
const elapsed = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`
const remaining = () => Math.max(1000, startedAt + totalTimeoutMs - Date.now())

/** Each verdict the run reaches, printed together at the end. */
const checks: { name: string; ok: boolean; detail: string }[] = []
function check(name: string, ok: boolean, detail: string): boolean {
  checks.push({ name, ok, detail })
  log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`)
  return ok
}

/** Undo steps, run last-in first-out by cleanup(). */
const undo: { what: string; fn: () => Promise<unknown> }[] = []
let cleaning: Promise<void> | undefined
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (undo.length > 0) {
      const step = undo.pop()
      if (!step) break
      try {
        await Promise.race([
          step.fn(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('timed out after 60 s')), 60_000).unref(),
          ),
        ])
      } catch (err) {
        console.error(`[image] cleanup: ${step.what} failed: ${(err as Error).message}`)
      }
    }
  })()
  return cleaning
}

async function abort(reason: string, code: number): Promise<never> {
  console.error(`[image] ${reason}`)
  aborting = true
  killAll()
  await cleanup()
  console.log('[image] image test FAILED')
  process.exit(code)
}

process.once('SIGINT', () => void abort('interrupted: cleaning up', 130))
process.once('SIGTERM', () => void abort('terminated: cleaning up', 143))
setTimeout(
  () => void abort(`the whole run exceeded IMAGE_TEST_TIMEOUT_S=${totalTimeoutMs / 1000}`, 1),
  totalTimeoutMs,
).unref()

async function main(): Promise<boolean> {
  const runDir = join(repo, '.tmp', 'image-test', new Date().toISOString().replace(/[:.]/g, '-'))
  mkdirSync(runDir, { recursive: true })
  const engine = detectEngine()
  log(`engine: ${engine.name} (${engine.bin}); logs in ${runDir.slice(repo.length + 1)}`)
  await requireService('PostgreSQL', pgUrl)
  await requireService('Redis', redisUrl)
  if (engine.name === 'podman' && !process.env.IMAGE_TEST_NODE_IMAGE) {
    // Runs last. Untagged images from our own earlier builds (they carry the stand-in's label) pile up
    // as build cache; keep a day of them for speed, drop the rest. Nobody else's images match.
    undo.push({
      what: 'prune old build cache',
      fn: () =>
        run(
          engine.bin,
          ['image', 'prune', '--force', '--filter', `label=${STAND_IN_LABEL}`, '--filter', 'until=24h'],
          { timeoutMs: 120_000, allowFailure: true },
        ),
    })
  }

  // ---- base image
  let baseRef = process.env.IMAGE_TEST_NODE_IMAGE
  if (!baseRef && engine.name === 'podman') {
    baseRef = (await ensureStandIn(engine, log, Math.min(remaining(), 600_000))).ref
  }
  const dockerfileBase = /^ARG NODE_IMAGE=(\S+)/m.exec(readFileSync(join(repo, 'Dockerfile'), 'utf8'))?.[1]
  if (!dockerfileBase) throw new Error('the Dockerfile declares no `ARG NODE_IMAGE=<default>`')
  log(`Dockerfile default base: ${dockerfileBase}${baseRef ? `; this run builds on ${baseRef}` : ''}`)

  // ---- build
  const context = await buildContext(runDir)
  const previous = (await imageExists(engine, TAG)) ? (await inspectImage(engine, TAG)).id : undefined
  const secrets = await build(engine, context, baseRef, runDir)
  const image = await inspectImage(engine, TAG)
  if (previous && previous !== image.id) await removeImageQuietly(engine, previous)

  // ---- what the image declares
  const entrypoint = [...image.entrypoint]
  log(`image ${image.id.slice(0, 12)}: USER ${image.user || '(root)'}, WORKDIR ${image.workdir}`)
  log(`  ENTRYPOINT ${JSON.stringify(entrypoint)} CMD ${JSON.stringify(image.cmd)}`)
  log(`  ENV ${image.env.map((e) => e.split('=')[0]).join(' ')}`)
  const uid = (image.user || '0').split(':')[0]
  check('runs as a non-root user', uid !== '0' && uid !== 'root' && uid !== '', `USER "${image.user}"`)
  check(
    'declares a command',
    entrypoint.length + image.cmd.length > 0,
    JSON.stringify([...entrypoint, ...image.cmd]),
  )

  // ---- sizes
  const base = baseRef ?? dockerfileBase
  const baseInfo = await inspectImage(engine, base)
  const added = layersAboveBase(await imageHistory(engine, TAG), await imageHistory(engine, base))
  log(`size: image ${mb(image.size)} = base ${mb(baseInfo.size)} (${base}) + project ${mb(added.bytes)}`)
  for (const step of added.steps.filter((s) => s.size > 0).sort((a, b) => b.size - a.size)) {
    log(`  ${mb(step.size).padStart(9)}  ${stepLabel(step.createdBy)}`)
  }

  const runtime = await prepareRuntime(engine, TAG, image)
  undo.push({ what: 'remove the container filesystem', fn: () => runtime.dispose() })
  await reportContents(runtime.shell, image.workdir)
  if (secrets) {
    const baked = await bakedSecrets(runtime.shell, secrets)
    check('build-time CA bundle and npmrc not in the image', baked.length === 0, baked.join(', ') || 'absent')
  }

  // ---- migration: the image's own command, against a fresh database
  const db = await createScratchDatabase(pgUrl, 'image_test_')
  undo.push({ what: `drop database ${db.name}`, fn: () => db.drop() })
  const redisPrefix = newRedisPrefix('image-test:')
  undo.push({ what: `delete Redis keys ${redisPrefix}*`, fn: () => deleteKeys(redisUrl, redisPrefix) })
  const pkg = JSON.parse(await runtime.shell(`cat ${rel(posix.join(image.workdir, 'package.json'))}`, 30_000))
  const migrate = scriptArgv(pkg.scripts?.['db:migrate'], 'db:migrate script of the image’s package.json')
  const migrationArgv = [...entrypoint, ...migrate]
  const expected = (
    await runtime.shell(
      `ls -1d ${rel(migrationsDir(image.workdir))}/*/migration.sql 2>/dev/null; true`,
      30_000,
    )
  )
    .split('\n')
    .filter(Boolean)
    .map((p) => posix.basename(posix.dirname(p)))
  log(
    `migrate: ${JSON.stringify(migrationArgv)} on database ${db.name} (${expected.length} migrations in the image)`,
  )
  const env = { DATABASE_URL: db.url, LOG_LEVEL: 'info' }
  let t = Date.now()
  const first = await runtime.exec({ argv: migrationArgv, env }, Math.min(remaining(), 180_000))
  const applied = first.code === 0 ? await appliedMigrations(db.url) : []
  const migrated =
    check('migration command exits 0', first.code === 0, `exit ${first.code} in ${elapsed(t)}`) &&
    check(
      'every migration in the image applied',
      expected.length > 0 && applied.join() === expected.sort().join(),
      `${applied.length} of ${expected.length} recorded in _prisma_migrations`,
    )
  if (first.code !== 0) log(`migration output:\n${tailOf(first.output, 30)}`)
  if (migrated) {
    t = Date.now()
    const again = await runtime.exec({ argv: migrationArgv, env }, Math.min(remaining(), 120_000))
    check('migration rerun is a no-op', again.code === 0, `exit ${again.code} in ${elapsed(t)}`)
  }

  // ---- the service: the image's own ENTRYPOINT + CMD
  if (migrated) await serve(runtime, image, db.url, redisPrefix, runDir)

  const addedOk = check(
    `project layers within the ${budgetMb} MB budget`,
    added.bytes <= budgetMb * MB,
    `${mb(added.bytes)} above the base (${((added.bytes / (budgetMb * MB)) * 100).toFixed(0)}% of budget)`,
  )
  return addedOk && checks.every((c) => c.ok)
}

/** Starts the service, waits for readiness, makes the API round trip, and stops it with SIGTERM. */
async function serve(
  runtime: ImageRuntime,
  image: ImageConfig,
  databaseUrl: string,
  redisPrefix: string,
  runDir: string,
): Promise<void> {
  const port = await freePort()
  // HOST narrowed to loopback: the process shares the host's network, and only this run should reach it.
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    HOST: '127.0.0.1',
    PORT: String(port),
    COOKIE_SECURE: 'false',
    // The image runs with NODE_ENV=production; a throwaway run stores TOTP seeds unsealed, explicitly.
    MFA_ENCRYPTION_OPTIONAL: 'true',
  }
  const argv = [...image.entrypoint, ...image.cmd]
  const logFile = join(runDir, 'service.log')
  log(`serve: ${JSON.stringify(argv)} on 127.0.0.1:${port} (output in ${logFile.slice(repo.length + 1)})`)
  const started = Date.now()
  const service: Background = runtime.start({ argv, env }, logFile)
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  void service.exited.then((e) => {
    exit = e
  })
  undo.push({
    what: 'stop the service',
    fn: async () => {
      if (exit) return
      signal(service, 'SIGKILL')
      await service.exited
    },
  })
  const base = `http://127.0.0.1:${port}`
  try {
    const ready = await waitForOk(
      `${base}/health/ready`,
      Math.min(remaining(), 60_000),
      () => exit !== undefined,
    )
    check(
      '/health/ready answers 200',
      true,
      `after ${(ready.ms / 1000).toFixed(1)} s: ${JSON.stringify(ready.body)}`,
    )
    const api = await registerAndLogin(base)
    check('API round trip (register, login, wrong password, /v1/me)', true, api.steps.join('; '))
    await runHealthcheck(runtime, image.healthcheck, env, dockerfileHasHealthcheck())
  } catch (err) {
    check('service answers', false, (err as Error).message)
    log(`service output:\n${tailOf(service.output(), 30)}`)
  }
  if (exit) {
    check('service keeps running until stopped', false, `exited early: ${JSON.stringify(exit)}`)
    return
  }
  const sig = (image.stopSignal ?? 'SIGTERM') as NodeJS.Signals
  const stopAt = Date.now()
  signal(service, sig)
  const stopped = await Promise.race([
    service.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 35_000)),
  ])
  const clean = stopped?.code === 0
  check(
    `${sig} stops it cleanly`,
    clean,
    stopped ? `exit ${stopped.code ?? stopped.signal} after ${elapsed(stopAt)}` : 'still running after 35 s',
  )
  if (!clean) log(`service output:\n${tailOf(service.output(), 30)}`)
  log(`service ran ${elapsed(started)}`)
}

/** Runs the image's HEALTHCHECK command in the service's environment, as the runtime would. */
async function runHealthcheck(
  runtime: ImageRuntime,
  test: string[],
  env: Record<string, string>,
  declared: boolean,
) {
  const kind = test[0]
  if (kind === undefined || kind === 'NONE') {
    // An engine that drops the instruction (podman's OCI format) would hide a broken check.
    check(
      'HEALTHCHECK kept in the image',
      !declared,
      declared ? 'the Dockerfile declares one' : 'none declared',
    )
    return
  }
  const argv = healthcheckArgv(test)
  const t = Date.now()
  const result = await runtime.exec({ argv, env }, 30_000)
  check('HEALTHCHECK command passes', result.code === 0, `exit ${result.code} in ${elapsed(t)}`)
  if (result.code !== 0) log(`healthcheck output:\n${tailOf(result.output, 10)}`)
}

function dockerfileHasHealthcheck(): boolean {
  return /^HEALTHCHECK\s+(?!NONE\b)/im.test(readFileSync(join(repo, 'Dockerfile'), 'utf8'))
}

/** The build context: the working tree as is, or (IMAGE_TEST_CONTEXT=head) the last commit only. */
async function buildContext(runDir: string): Promise<string> {
  const mode = process.env.IMAGE_TEST_CONTEXT ?? 'worktree'
  if (mode === 'worktree') return repo
  if (mode !== 'head') throw new Error(`IMAGE_TEST_CONTEXT must be worktree or head (got "${mode}")`)
  const dir = mkdtempSync(join(tmpdir(), 'image-test-context-'))
  undo.push({ what: 'remove the build context copy', fn: async () => removeTree(dir) })
  const tar = join(runDir, 'head.tar')
  await run('git', ['-C', repo, 'archive', '--format=tar', '-o', tar, 'HEAD'], { timeoutMs: 120_000 })
  await run('tar', ['-C', dir, '-xf', tar], { timeoutMs: 120_000 })
  log(`context: the last commit (git archive HEAD) in ${dir}`)
  return dir
}

/** Builds the Dockerfile; returns the hashes of the build-time secrets mounted (podman), if any. */
async function build(
  engine: Engine,
  context: string,
  baseRef: string | undefined,
  runDir: string,
): Promise<Map<string, string> | undefined> {
  const args = ['build', '-t', TAG, '-f', join(context, 'Dockerfile')]
  if (baseRef) args.push('--build-arg', `NODE_IMAGE=${baseRef}`)
  let secrets: Map<string, string> | undefined
  if (engine.name === 'podman') {
    // Docker's image format: OCI has no HEALTHCHECK, and podman would drop the Dockerfile's.
    args.push('--isolation=chroot', '--network=host', '--layers=true', '--format', 'docker')
    // npm inside the build goes through the same TLS-inspecting proxy as the host: trust its CA for
    // the build only. Volumes are never committed into layers.
    if (existsSync(HOST_CA)) {
      const npmrc = join(runDir, 'npmrc')
      writeFileSync(npmrc, 'cafile=/etc/ssl/certs/ca-certificates.crt\n')
      args.push(
        '-v',
        `${HOST_CA}:/etc/ssl/certs/ca-certificates.crt:ro`,
        '-v',
        `${npmrc}:/usr/local/etc/npmrc:ro`,
      )
      secrets = new Map([
        ['etc/ssl/certs/ca-certificates.crt', sha256(readFileSync(HOST_CA))],
        ['usr/local/etc/npmrc', sha256(readFileSync(npmrc))],
      ])
    }
  }
  args.push(context)
  const logFile = join(runDir, 'build.log')
  log(`build: ${engine.name} ${args.join(' ')}`)
  const t = Date.now()
  try {
    await run(engine.bin, args, { timeoutMs: remaining(), logFile })
  } catch (err) {
    check('image builds', false, `see ${logFile.slice(repo.length + 1)}`)
    throw err
  }
  check('image builds', true, `in ${elapsed(t)}`)
  return secrets
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Files of the image identical to the secrets mounted during the build (there should be none). */
async function bakedSecrets(shell: (s: string, t: number) => Promise<string>, secrets: Map<string, string>) {
  const out = await shell(`sha256sum ${[...secrets.keys()].join(' ')} 2>/dev/null; true`, 30_000)
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([hash, path]) => path !== undefined && secrets.get(path) === hash)
    .map(([, path]) => `/${path}`)
}

/** Prints what the project's files weigh inside the image, and the largest packages. */
async function reportContents(shell: (s: string, t: number) => Promise<string>, workdir: string) {
  const appRoot = rel(posix.dirname(workdir) === '/' ? workdir : posix.dirname(workdir))
  const top = parseDu(await shell(`du -sb ${appRoot}/* ${appRoot}/.[!.]* 2>/dev/null; true`, 60_000))
  log(`contents of /${appRoot}:`)
  for (const e of top.slice(0, 8)) log(`  ${mb(e.bytes).padStart(9)}  /${e.path}`)
  const modules = `${appRoot}/node_modules`
  const packages = parseDu(
    await shell(`du -sb ${modules}/[!@.]* ${modules}/@*/* ${modules}/.bin 2>/dev/null; true`, 60_000),
  )
  if (packages.length === 0) return
  const total = packages.reduce((s, p) => s + p.bytes, 0)
  log(`largest of ${packages.length} packages in /${modules} (${mb(total)}):`)
  for (const p of packages.slice(0, 12)) {
    log(`  ${mb(p.bytes).padStart(9)}  ${p.path.slice(modules.length + 1)}`)
  }
  const scopes = new Map<string, number>()
  for (const p of packages) {
    const name = p.path.slice(modules.length + 1)
    const group = name.startsWith('@') ? (name.split('/')[0] ?? name) : name
    scopes.set(group, (scopes.get(group) ?? 0) + p.bytes)
  }
  const grouped = [...scopes].sort((a, b) => b[1] - a[1]).slice(0, 5)
  log(`  by scope: ${grouped.map(([n, b]) => `${n} ${mb(b)}`).join(', ')}`)
}

/** The migrations folder the image's migrate command reads by default (next to the app root). */
function migrationsDir(workdir: string): string {
  return posix.join(posix.dirname(workdir), 'prisma/migrations')
}

/** An absolute image path made relative to the image root, for scripts run from it. */
function rel(path: string): string {
  return path.replace(/^\/+/, '') || '.'
}

/** Fails fast, before a long build, when a server the run needs is not answering. */
async function requireService(name: string, url: string) {
  const { hostname, port } = new URL(url)
  const { connect } = await import('node:net')
  const ok = await new Promise<boolean>((done) => {
    const socket = connect({
      host: hostname || '127.0.0.1',
      port: Number(port || (name === 'Redis' ? 6379 : 5432)),
    })
    socket.setTimeout(2000, () => done(false))
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
  })
  if (!ok) throw new Error(`${name} is not answering at ${url}; start it first (see docs/image.md)`)
}

main()
  .then(async (ok) => {
    if (aborting) return // abort() reports and exits
    await cleanup()
    console.log(
      `\n[image] ${checks.filter((c) => c.ok).length} of ${checks.length} checks ok in ${elapsed(startedAt)}`,
    )
    for (const c of checks.filter((x) => !x.ok)) console.log(`[image] failed: ${c.name}: ${c.detail}`)
    console.log(`[image] ${ok ? 'image test passed' : 'image test FAILED'}`)
    process.exit(ok ? 0 : 1)
  })
  .catch(async (err: Error) => {
    if (aborting) return
    console.error(`[image] ${err.message}`)
    killAll()
    await cleanup()
    console.log('[image] image test FAILED')
    process.exit(1)
  })
