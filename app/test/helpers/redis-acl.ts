/** ACL users on a test Redis, shaped like ElastiCache RBAC: an admin for the test, the service user, default off. */
import { Redis } from 'ioredis'
import { REDIS_SERVICE_ACCESS_STRING } from '../../src/contract.js'

/** The test's own superuser on a secured node. */
export const REDIS_ADMIN = { username: 'admin', password: 'admin-password' }

/**
 * Creates the admin and `svc` (REDIS_SERVICE_ACCESS_STRING, password `password`) through the still-open default
 * user, then switches default off as the stacks do. Returns an admin connection.
 */
export async function secureRedis(port: number, password: string): Promise<Redis> {
  const open = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  open.on('error', () => {})
  await open.connect()
  await open.call(
    'ACL',
    'SETUSER',
    REDIS_ADMIN.username,
    'on',
    `>${REDIS_ADMIN.password}`,
    '~*',
    '&*',
    '+@all',
  )
  await open.call('ACL', 'SETUSER', 'svc', 'reset', ...REDIS_SERVICE_ACCESS_STRING.split(' '), `>${password}`)
  await open.call('ACL', 'SETUSER', 'default', 'off')
  open.disconnect()
  const admin = new Redis({
    port,
    host: '127.0.0.1',
    ...REDIS_ADMIN,
    lazyConnect: true,
    retryStrategy: () => null,
  })
  admin.on('error', () => {})
  await admin.connect()
  return admin
}

/** Users of the client connections a node sees (CLIENT LIST), without the admin's own. */
export async function serviceConnections(admin: Redis): Promise<string[]> {
  const list = String(await admin.call('CLIENT', 'LIST'))
  return list
    .split('\n')
    .map((line) => /\buser=(\S+)/.exec(line)?.[1])
    .filter((u): u is string => Boolean(u) && u !== REDIS_ADMIN.username)
}
