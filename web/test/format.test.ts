import { describe, expect, it } from 'vitest'
import { unwrap } from '../src/lib/errors.js'
import { highlightRuns } from '../src/lib/highlight.js'
import { formatMoney, parseMoney } from '../src/lib/money.js'

describe('money', () => {
  it('parses decimal text into minor units by the currency exponent', () => {
    expect(parseMoney('12.34', 'EUR')).toBe('1234')
    expect(parseMoney('12,5', 'EUR')).toBe('1250')
    expect(parseMoney('500', 'JPY')).toBe('500')
    expect(parseMoney('1.5', 'JPY')).toBeUndefined()
    expect(parseMoney('0', 'EUR')).toBeUndefined()
    expect(parseMoney('-3', 'EUR')).toBeUndefined()
    expect(parseMoney('1.234', 'EUR')).toBeUndefined()
  })

  it('formats minor units exactly, beyond float precision', () => {
    expect(formatMoney('1234', 'EUR', 'en-US')).toBe('€12.34')
    expect(formatMoney('-5', 'USD', 'en-US')).toBe('-$0.05')
    expect(formatMoney('900719925474099312', 'USD', 'en-US')).toBe('$9,007,199,254,740,993.12')
    expect(formatMoney('500', 'JPY', 'en-US')).toBe('¥500')
  })
})

describe('search highlights', () => {
  it('splits marked runs and unescapes entities without innerHTML', () => {
    expect(highlightRuns('Dinner &amp; <mark>drinks</mark> &lt;3')).toEqual([
      { text: 'Dinner & ', match: false },
      { text: 'drinks', match: true },
      { text: ' <3', match: false },
    ])
  })
})

describe('unwrap', () => {
  const response = (status: number) => new Response(null, { status })
  it('turns a gateway error without the service error shape into a network error', async () => {
    await expect(
      unwrap(Promise.resolve({ error: undefined, response: response(502) })),
    ).rejects.toMatchObject({
      name: 'NetworkError',
    })
  })
  it('keeps the service error code and details', async () => {
    const error = {
      error: { code: 'VALIDATION', message: 'Bad', details: [{ field: 'amount', message: 'x' }] },
    }
    await expect(unwrap(Promise.resolve({ error, response: response(400) }))).rejects.toMatchObject({
      name: 'ApiError',
      status: 400,
      code: 'VALIDATION',
    })
  })
  it('turns a rejected fetch into a network error', async () => {
    await expect(unwrap(Promise.reject(new TypeError('Failed to fetch')))).rejects.toMatchObject({
      name: 'NetworkError',
    })
  })
})
