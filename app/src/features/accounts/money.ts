/**
 * Money is an integer number of minor units (cents for EUR, yen for JPY) held as a bigint and sent
 * over JSON as a decimal string: JSON numbers above 2^53 lose digits in most clients.
 */
import { Type } from 'typebox'

/** Largest amount one transaction may move: 10^15 minor units keeps every sum far inside bigint. */
export const MAX_AMOUNT = 10n ** 15n

/** An amount in a request: a positive integer as a string ("1050") or as a JSON integer (1050). */
export const AmountInput = Type.Union(
  [
    Type.String({
      pattern: '^[1-9][0-9]{0,15}$',
      description: 'Positive integer of minor units, as a string',
    }),
    Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  ],
  { description: 'Minor units (cents), at most 10^15; a string is preferred' },
)

/** An amount or balance in a response: always a decimal string of minor units. */
export const MinorUnits = Type.String({
  pattern: '^-?[0-9]+$',
  description: 'Integer minor units as a string',
})

/** Parses a request amount; undefined when it is not a positive integer up to MAX_AMOUNT. */
export function parseAmount(value: string | number): bigint | undefined {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) return undefined
  const amount = BigInt(value)
  return amount >= 1n && amount <= MAX_AMOUNT ? amount : undefined
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'))

/** An ISO 4217 code in a request. */
export const CurrencyCode = Type.String({
  pattern: '^[A-Z]{3}$',
  description: 'ISO 4217 code (EUR, USD, JPY)',
})

/** True for a currency code ISO 4217 knows (per the runtime's ICU data). */
export function isKnownCurrency(code: string): boolean {
  return CURRENCIES.has(code)
}
