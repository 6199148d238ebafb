/** Redis key prefixes: each run writes under its own and deletes only that (never FLUSHALL). */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

/** The machine's Redis unless TEST_REDIS_URL names another server. */
export const DEFAULT_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** `${base}<random>:`, a key prefix no other run uses. */
export function newRedisPrefix(base: string): string {
  return `${base}${randomBytes(4).toString('hex')}:`
}

/** Deletes every key under a prefix (single node: the local servers are not clustered); returns how many. */
export async function deleteKeys(redis: Redis | string, prefix: string): Promise<number> {
  const client =
    typeof redis === 'string'
      ? new Redis(redis, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 })
      : redis
  let deleted = 0
  try {
    if (typeof redis === 'string') await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) deleted += await client.del(...keys)
    } while (cursor !== '0')
  } finally {
    if (typeof redis === 'string') client.disconnect()
  }
  return deleted
}
