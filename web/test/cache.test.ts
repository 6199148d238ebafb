import { describe, expect, it } from 'vitest'
import { cachedRead, clearCache } from '../src/lib/cache.js'
import { ApiError, NetworkError } from '../src/lib/errors.js'

const offline = async (): Promise<never> => {
  throw new NetworkError('offline')
}

describe('cachedRead: last good answers for bad networks', () => {
  it('answers the last good copy, marked offline with its time, when the API is unreachable', async () => {
    const online = await cachedRead('accounts', async () => ({ items: [1, 2] }))
    expect(online.offline).toBe(false)
    const stale = await cachedRead('accounts', offline)
    expect(stale).toEqual({ data: { items: [1, 2] }, asOf: online.asOf, offline: true })
  })

  it('rethrows when nothing was cached', async () => {
    await expect(cachedRead('never-read', offline)).rejects.toBeInstanceOf(NetworkError)
  })

  it('does not hide errors the service answered behind the cache', async () => {
    await cachedRead('me', async () => 'alice')
    const denied = cachedRead('me', async () => {
      throw new ApiError(401, 'UNAUTHORIZED', 'Authentication required')
    })
    await expect(denied).rejects.toBeInstanceOf(ApiError)
  })

  it('forgets everything on clearCache (logout, erasure)', async () => {
    await cachedRead('profile', async () => 'secret')
    await clearCache()
    await expect(cachedRead('profile', offline)).rejects.toBeInstanceOf(NetworkError)
  })
})
