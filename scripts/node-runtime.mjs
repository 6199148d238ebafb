#!/usr/bin/env node
// The project runs on Node.js 24 LTS. A machine whose own Node is older (Debian's, or an image's)
// gets Node 24 from the npm registry, which publishes the official binary as `node-linux-<arch>`,
// installed under .tools/ (git-ignored) and put first on PATH for everything started from here.
//
// Plain Node and built-in modules only, with syntax old Node versions parse: this runs before
// anything else is installed, under whatever Node the machine has.
//
//   node scripts/node-runtime.mjs            installs if needed, prints the bin directory to use
//   import { ensureNode } from './node-runtime.mjs'; ensureNode()
//                                             re-runs the calling script under Node 24 when needed
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The Node major the project is built and tested on (engines, Dockerfile, workflows agree). */
export const NODE_MAJOR = 24

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const prefix = join(root, '.tools', `node${NODE_MAJOR}`)

function currentMajor() {
  return Number(process.versions.node.split('.')[0])
}

/** The bin directory holding a Node >= NODE_MAJOR, installing it from the npm registry when missing. */
export function nodeBinDir() {
  if (currentMajor() >= NODE_MAJOR) return dirname(process.execPath)
  const pkg = `node-linux-${process.arch}`
  const bin = join(prefix, 'node_modules', pkg, 'bin')
  if (existsSync(join(bin, 'node'))) return bin
  if (process.platform !== 'linux') {
    throw new Error(
      `Node ${process.versions.node} is too old: install Node.js ${NODE_MAJOR} (https://nodejs.org)`,
    )
  }
  console.error(
    `[node] this machine has Node ${process.versions.node}; installing ${pkg}@${NODE_MAJOR} into .tools/`,
  )
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `${pkg}@${NODE_MAJOR}`,
    ],
    { stdio: ['ignore', process.stderr, 'inherit'] },
  )
  if (npm.status !== 0 || !existsSync(join(bin, 'node'))) {
    throw new Error(`could not install ${pkg}@${NODE_MAJOR} from the npm registry (npm exit ${npm.status})`)
  }
  return bin
}

/** Environment whose PATH starts with the Node 24 bin directory, so npm, npx and children use it. */
export function nodeEnv(env = process.env) {
  const bin = nodeBinDir()
  const path = env.PATH ? `${bin}${delimiter}${env.PATH}` : bin
  return { ...env, PATH: path }
}

/**
 * Re-runs the calling script under Node 24 when the current Node is older and never settles (the
 * process exits with the child's status); settles at once when the current Node is recent enough.
 * Use as `await ensureNode()` before anything else.
 */
export function ensureNode() {
  if (currentMajor() >= NODE_MAJOR) return Promise.resolve()
  let env
  try {
    env = nodeEnv()
  } catch (err) {
    console.error(`[node] ${err.message}`)
    process.exit(1)
  }
  const node = join(nodeBinDir(), 'node')
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env })
  // Ctrl-C reaches the child through the terminal's process group; a signal sent to this process
  // alone is passed on, and either way this process waits for the child to finish.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal)
    })
  }
  child.once('error', (err) => {
    console.error(`[node] ${err.message}`)
    process.exit(1)
  })
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
  return new Promise(() => {})
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(nodeBinDir())
  } catch (err) {
    console.error(`[node] ${err.message}`)
    process.exit(1)
  }
}
