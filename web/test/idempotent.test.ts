import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError } from '../src/lib/errors.js'
import { sendOnce } from '../src/lib/idempotent.js'

const noSleep = { sleep: async () => undefined }

describe('sendOnce: one idempotency key per intent', () => {
  it('retries a network failure with the same key until it succeeds', async () => {
    const keys: string[] = []
    const result = await sendOnce(async (key) => {
      keys.push(key)
      if (keys.length < 3) throw new NetworkError('offline')
      return 'sent'
    }, noSleep)
    expect(result).toBe('sent')
    expect(keys).toHaveLength(3)
    expect(new Set(keys).size).toBe(1)
  })

  it('uses a fresh key for the next intent', async () => {
    const first: string[] = []
    const second: string[] = []
    await sendOnce(async (key) => first.push(key), noSleep)
    await sendOnce(async (key) => second.push(key), noSleep)
    expect(first[0]).not.toBe(second[0])
  })

  it('does not retry an error the service answered', async () => {
    let calls = 0
    const refused = sendOnce(async () => {
      calls++
      throw new ApiError(409, 'INSUFFICIENT_FUNDS', 'Insufficient funds')
    }, noSleep)
    await expect(refused).rejects.toThrow('Insufficient funds')
    expect(calls).toBe(1)
  })

  it('retries 503 (the service shedding load) and gives up after the last attempt', async () => {
    let calls = 0
    const failing = sendOnce(
      async () => {
        calls++
        throw new ApiError(503, 'UNAVAILABLE', 'try later')
      },
      { ...noSleep, attempts: 3 },
    )
    await expect(failing).rejects.toThrow('try later')
    expect(calls).toBe(3)
  })
})
