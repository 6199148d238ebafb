/**
 * A real three-master Redis Cluster on local ports, built from the machine's redis-server binary,
 * so cluster mode (ElastiCache in production) is tested for real: MOVED redirects, CROSSSLOT errors.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitUntil } from '../../../scripts/kit/net.js'

/** True when redis-server and redis-cli are installed. */
export function redisBinariesAvailable(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port whose cluster bus port (+10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    if (taken.has(port)) continue
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port
  }
}

/** Starts the cluster; `stop()` kills it and removes its files. */
export async function startRedisCluster(size = 3): Promise<{ ports: number[]; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'))
  const taken = new Set<number>()
  const ports: number[] = []
  for (let i = 0; i < size; i++) {
    const port = await freePort(taken)
    taken.add(port)
    ports.push(port)
  }
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  )
  const stop = () => {
    for (const child of children) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) await waitUntil('redis node up', 5000, () => ping(port), 100)
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { stdio: 'ignore' },
    )
    await waitUntil('redis cluster ok', 10_000, () => clusterOk(ports), 100)
  } catch (err) {
    stop()
    throw err
  }
  return { ports, stop }
}

function ping(port: number): boolean {
  try {
    return (
      execFileSync('redis-cli', ['-p', String(port), 'ping'])
        .toString()
        .trim() === 'PONG'
    )
  } catch {
    return false
  }
}

function clusterOk(ports: number[]): boolean {
  return ports.every((port) => {
    try {
      return execFileSync('redis-cli', ['-p', String(port), 'cluster', 'info'])
        .toString()
        .includes('cluster_state:ok')
    } catch {
      return false
    }
  })
}

/** Number of keys on one node. */
export function keysOn(port: number): number {
  return Number(
    execFileSync('redis-cli', ['-p', String(port), 'dbsize'])
      .toString()
      .trim(),
  )
}
