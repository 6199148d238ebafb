/**
 * The local stand-in for the Dockerfile's public Node base image, for machines that cannot pull one:
 * Debian bookworm (debootstrap --variant=minbase) plus this machine's own `node` binary and npm, laid
 * out as the official image does (/usr/local/bin, uid 1000 `node`), imported with `podman import`.
 */

import { spawnSync } from 'node:child_process'
import {
  appendFileSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Engine } from './engine.js'
import { run, which } from './exec.js'

// Bump when the recipe below changes, so cached stand-ins built the old way are rebuilt.
const RECIPE = '1'
/** Every image built FROM the stand-in inherits this label, which is how our build cache is told apart. */
export const STAND_IN_LABEL = 'blueprint.image-test.stand-in'

/** Where the debootstrap tarball is kept between runs (IMAGE_TEST_CACHE overrides). */
export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache')
  return process.env.IMAGE_TEST_CACHE ?? join(xdg, 'blueprint-image-test')
}

/** The stand-in's reference for this machine's Node: localhost/node-base:<major>. */
export function standInRef(): string {
  return `localhost/node-base:${process.versions.node.split('.')[0]}`
}

/** What identifies a stand-in built by this recipe from this Node. */
function fingerprint(): string {
  return `recipe=${RECIPE} node=${process.version}`
}

/** Makes sure the stand-in exists and matches this machine's Node; returns its reference. */
export async function ensureStandIn(
  engine: Engine,
  log: (msg: string) => void,
  timeoutMs: number,
): Promise<{ ref: string; built: boolean }> {
  const ref = standInRef()
  const found = await run(
    engine.bin,
    ['image', 'inspect', '--format', `{{index .Labels "${STAND_IN_LABEL}"}}`, ref],
    {
      timeoutMs: 60_000,
      allowFailure: true,
    },
  )
  if (found.code === 0 && found.stdout.trim() === fingerprint()) {
    log(`base: ${ref} (cached stand-in, ${fingerprint()})`)
    return { ref, built: false }
  }
  log(`base: building stand-in ${ref} (${found.code === 0 ? 'stale' : 'missing'})`)
  const deadline = Date.now() + timeoutMs
  const remaining = () => Math.max(1000, deadline - Date.now())

  const cache = cacheDir()
  mkdirSync(cache, { recursive: true })
  const minbase = join(cache, 'bookworm-minbase.tar')
  if (!existsSync(minbase)) await debootstrapTarball(minbase, log, remaining)

  const work = mkdtempSync(join(tmpdir(), 'image-test-base-'))
  try {
    const rootfs = join(work, 'rootfs')
    mkdirSync(rootfs)
    await run('tar', ['-C', rootfs, '--numeric-owner', '-xf', minbase], { timeoutMs: remaining() })
    addNode(rootfs)
    const tarball = join(work, 'base.tar')
    await run('tar', ['-C', rootfs, '--numeric-owner', '-cf', tarball, '.'], { timeoutMs: remaining() })
    await run(
      engine.bin,
      [
        'import',
        '--change',
        'CMD ["node"]',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        `ENV NODE_VERSION=${process.versions.node}`,
        '--change',
        `LABEL ${STAND_IN_LABEL}="${fingerprint()}"`,
        '--message',
        `stand-in for the public Node ${process.versions.node.split('.')[0]} image (debootstrap minbase bookworm)`,
        tarball,
        ref,
      ],
      { timeoutMs: remaining() },
    )
  } finally {
    removeTree(work)
  }
  log(`base: ${ref} imported`)
  return { ref, built: true }
}

/** debootstrap once, slimmed like the official -slim images, kept as a tarball for later runs. */
async function debootstrapTarball(target: string, log: (msg: string) => void, remaining: () => number) {
  const debootstrap = which('debootstrap')
  if (!debootstrap) throw new Error('debootstrap is not installed (apt-get install debootstrap)')
  const mirror = process.env.IMAGE_TEST_DEBIAN_MIRROR ?? debianMirror()
  log(`base: debootstrap --variant=minbase bookworm from ${mirror} (about a minute)`)
  const work = mkdtempSync(join(tmpdir(), 'image-test-debootstrap-'))
  try {
    const rootfs = join(work, 'rootfs')
    await run(debootstrap, ['--variant=minbase', 'bookworm', rootfs, mirror], {
      timeoutMs: remaining(),
      logFile: join(work, 'debootstrap.log'),
    })
    // Package caches and lists are what the slim images drop too; nothing at run time reads them.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man']) {
      const path = join(rootfs, dir)
      await run(
        'find',
        [path, '-mindepth', '1', '-not', '-name', 'lock', '-not', '-name', 'partial', '-delete'],
        {
          timeoutMs: 60_000,
          allowFailure: true,
        },
      )
    }
    await run('tar', ['-C', rootfs, '--numeric-owner', '-cf', `${target}.tmp`, '.'], {
      timeoutMs: remaining(),
    })
    renameSync(`${target}.tmp`, target)
  } finally {
    removeTree(work)
  }
}

/** The first Debian mirror apt uses here, else the public one. */
function debianMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    const uri = existsSync(file) ? mirrorIn(readFileSync(file, 'utf8')) : undefined
    if (uri) return uri
  }
  return 'http://deb.debian.org/debian'
}

/** The Debian archive URI in an apt source file (deb822 `URIs:` or one-line `deb` form). */
export function mirrorIn(text: string): string | undefined {
  const deb822 = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)
  const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\b/m.exec(text)
  return deb822?.[1] ?? oneLine?.[1]
}

/** node + npm where the official image has them, and its uid 1000 `node` user. */
function addNode(rootfs: string): void {
  const bin = join(rootfs, 'usr/local/bin')
  const lib = join(rootfs, 'usr/local/lib/node_modules')
  mkdirSync(bin, { recursive: true })
  mkdirSync(lib, { recursive: true })
  copyFileSync(realpathSync(process.execPath), join(bin, 'node'))
  const npmDir = findNpm()
  cpSync(npmDir, join(lib, 'npm'), { recursive: true, verbatimSymlinks: true })
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm'))
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(bin, 'npx'))
  appendFileSync(join(rootfs, 'etc/passwd'), 'node:x:1000:1000::/home/node:/bin/sh\n')
  appendFileSync(join(rootfs, 'etc/group'), 'node:x:1000:\n')
  mkdirSync(join(rootfs, 'home/node'), { recursive: true })
  chownSync(join(rootfs, 'home/node'), 1000, 1000)
}

/** This machine's npm package folder (the one `npm` on PATH runs). */
function findNpm(): string {
  const npm = which('npm')
  if (!npm) throw new Error('npm is not on PATH; the stand-in base copies this machine’s npm')
  // npm's launcher is bin/npm-cli.js inside the package: two levels up is the package.
  const pkg = dirname(dirname(realpathSync(npm)))
  if (!existsSync(join(pkg, 'package.json'))) throw new Error(`cannot find npm's package folder from ${npm}`)
  return pkg
}

/**
 * Removes a scratch tree, refusing while anything is still mounted beneath it: debootstrap mounts
 * /proc inside its target, and deleting through a live /proc or /dev bind is never wanted.
 */
export function removeTree(path: string): void {
  const mountsUnder = () =>
    readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m === path || m.startsWith(`${path}/`))
  // A debootstrap that failed midway can leave its /proc mounted: detach those first, deepest first.
  for (const m of mountsUnder().sort((a, b) => b.length - a.length)) {
    spawnSync('umount', ['--lazy', m], { stdio: 'ignore', timeout: 30_000 })
  }
  const left = mountsUnder()
  if (left.length > 0) {
    console.error(`[image] not removing ${path}: still mounted (${left.join(', ')})`)
    return
  }
  rmSync(path, { recursive: true, force: true })
}
