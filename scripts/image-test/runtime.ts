/**
 * Starting processes from the built image the way a container runtime would: the image's USER,
 * WORKDIR, ENV and ENTRYPOINT, on the host network. Docker runs containers itself; with podman,
 * `podman run` fails here (rlimits), so the container's filesystem is mounted (`podman create` +
 * `podman mount`, a writable layer like a real container's) and entered with chroot, inside a private
 * mount namespace that gets its own /proc and /dev and vanishes with the process.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Engine, ImageConfig } from './engine.js'
import { type Background, run, start, which } from './exec.js'

/** A started or one-off process's environment additions and argv. */
export interface ProcessSpec {
  argv: string[]
  /** Added to (and overriding) the image's ENV. */
  env: Record<string, string>
}

/** One image, ready to run processes from. */
export interface ImageRuntime {
  /** Host path of the container's root filesystem, when the engine exposes it (podman). */
  root: string | undefined
  /** Runs to completion; resolves with the exit code and output. */
  exec(spec: ProcessSpec, timeoutMs: number): Promise<{ code: number | null; output: string }>
  /** Starts in the background. */
  start(spec: ProcessSpec, logFile: string): Background
  /** Runs an inspection script (du, test -f) from the image's root directory; paths in it are relative. */
  shell(script: string, timeoutMs: number): Promise<string>
  /** Unmounts and removes whatever prepare() created. Safe to call twice. */
  dispose(): Promise<void>
}

/** Prepares the image for running processes. */
export async function prepareRuntime(
  engine: Engine,
  image: string,
  config: ImageConfig,
): Promise<ImageRuntime> {
  return engine.name === 'podman'
    ? podmanRuntime(engine, image, config)
    : dockerRuntime(engine, image, config)
}

function requireTool(name: string): string {
  const path = which(name)
  if (!path) throw new Error(`${name} is not installed on this machine`)
  return path
}

async function podmanRuntime(engine: Engine, image: string, config: ImageConfig): Promise<ImageRuntime> {
  const unshare = requireTool('unshare')
  const mount = requireTool('mount')
  const chroot = requireTool('chroot')
  const name = `image-test-${randomBytes(4).toString('hex')}`
  // The command only satisfies `create`; nothing is started through podman.
  await run(engine.bin, ['create', '--name', name, '--network', 'host', image], { timeoutMs: 120_000 })
  let root: string | undefined
  let disposed = false
  const dispose = async () => {
    if (disposed) return
    disposed = true
    await run(engine.bin, ['umount', name], { timeoutMs: 60_000, allowFailure: true })
    await run(engine.bin, ['rm', '--force', name], { timeoutMs: 60_000, allowFailure: true })
  }
  try {
    root = (await run(engine.bin, ['mount', name], { timeoutMs: 60_000 })).stdout.trim()
    if (!root || !existsSync(join(root, 'etc')))
      throw new Error(`podman mount ${name} gave no filesystem (${root})`)
  } catch (err) {
    await dispose()
    throw err
  }
  const rootfs = root
  const userspec = resolveUser(rootfs, config.user)
  // $1 root, $2 user:group, $3 workdir, then argv. Host tools by absolute path: the environment
  // passed down is the image's, whose PATH is meant for the inside.
  const script = [
    'root=$1; user=$2; dir=$3; shift 3',
    `${mount} -t proc proc "$root/proc" && ${mount} --rbind /dev "$root/dev" || exit 125`,
    `exec ${chroot} --userspec="$user" "$root" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"`,
  ].join('\n')
  const command = (spec: ProcessSpec): [string, string[], NodeJS.ProcessEnv] => [
    unshare,
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      script,
      'sh',
      rootfs,
      userspec.spec,
      config.workdir,
      ...spec.argv,
    ],
    containerEnv(config, userspec.home, spec.env),
  ]

  return {
    root: rootfs,
    async exec(spec, timeoutMs) {
      const [cmd, args, env] = command(spec)
      const result = await run(cmd, args, { env, timeoutMs, allowFailure: true })
      return { code: result.code, output: result.output }
    },
    start(spec, logFile) {
      const [cmd, args, env] = command(spec)
      return start(cmd, args, { env, logFile })
    },
    async shell(script, timeoutMs) {
      // Host tools over the mounted tree: inspection needs nothing from the image.
      const result = await run('/bin/sh', ['-c', script], { timeoutMs, cwd: rootfs })
      return result.stdout
    },
    dispose,
  }
}

/** A package.json script as argv; only plain words, since no shell runs it in a container override. */
export function scriptArgv(script: unknown, what: string): string[] {
  if (typeof script !== 'string' || script.trim() === '') throw new Error(`no ${what}`)
  if (/[;&|<>$`"'\\*?()]/.test(script))
    throw new Error(`${what} needs a shell ("${script}"); keep it plain argv`)
  return script.trim().split(/\s+/)
}

/** A HEALTHCHECK test as argv: CMD runs directly (no ENTRYPOINT), CMD-SHELL through /bin/sh. */
export function healthcheckArgv(test: string[]): string[] {
  const [kind, ...rest] = test
  return kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest
}

/** USER as uid:gid, names looked up in the image's own passwd/group like a runtime does. */
export function resolveUser(root: string, user: string): { spec: string; home: string } {
  const [u = '', g] = (user || '0').split(':')
  const passwd = readTable(join(root, 'etc/passwd'))
  const groups = readTable(join(root, 'etc/group'))
  const entry = passwd.find((p) => p[0] === u || p[2] === u)
  const uid = /^\d+$/.test(u) ? u : entry?.[2]
  if (uid === undefined) throw new Error(`image USER "${user}" is not in the image's /etc/passwd`)
  let gid = g ?? entry?.[3] ?? uid
  if (!/^\d+$/.test(gid)) {
    const group = groups.find((x) => x[0] === gid)
    if (!group?.[2]) throw new Error(`image USER group "${gid}" is not in the image's /etc/group`)
    gid = group[2]
  }
  return { spec: `${uid}:${gid}`, home: entry?.[5] || '/' }
}

function readTable(file: string): string[][] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':'))
}

/** The image's ENV, then the run's additions; HOME and HOSTNAME as Docker sets them when unset. */
export function containerEnv(
  config: Pick<ImageConfig, 'env'>,
  home: string,
  extra: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { HOSTNAME: 'image-test', HOME: home }
  for (const entry of config.env) {
    const eq = entry.indexOf('=')
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  return { ...env, ...extra }
}

async function dockerRuntime(engine: Engine, image: string, _config: ImageConfig): Promise<ImageRuntime> {
  const envArgs = (env: Record<string, string>) =>
    Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  // argv replaces CMD only, as `docker run IMAGE cmd...` and an ECS command override do; but the caller
  // already prefixed the ENTRYPOINT, so clear the image's to not run it twice.
  const names: string[] = []
  const runArgs = (spec: ProcessSpec) => {
    const name = `image-test-${randomBytes(4).toString('hex')}`
    names.push(name)
    return runArgsNamed(spec, name)
  }
  const runArgsNamed = (spec: ProcessSpec, name: string) => [
    'run',
    '--rm',
    '--name',
    name,
    '--network',
    'host',
    '--entrypoint',
    spec.argv[0] ?? '',
    ...envArgs(spec.env),
    image,
    ...spec.argv.slice(1),
  ]
  return {
    root: undefined,
    async exec(spec, timeoutMs) {
      const result = await run(engine.bin, runArgs(spec), { timeoutMs, allowFailure: true })
      return { code: result.code, output: result.output }
    },
    start(spec, logFile) {
      // Without -d the client stays attached and proxies SIGTERM to the container.
      return start(engine.bin, runArgs(spec), { env: process.env, logFile })
    },
    async shell(script, timeoutMs) {
      const result = await run(
        engine.bin,
        ['run', '--rm', '--user', '0', '--entrypoint', '/bin/sh', image, '-c', `cd / && ${script}`],
        { timeoutMs },
      )
      return result.stdout
    },
    // A killed client leaves its container running: remove every one this run started.
    async dispose() {
      for (const name of names.splice(0)) {
        await run(engine.bin, ['rm', '--force', name], { timeoutMs: 60_000, allowFailure: true })
      }
    },
  }
}
