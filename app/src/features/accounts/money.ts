/**
 * Money is an integer number of minor units (cents for EUR, yen for JPY) held as a bigint and sent
 * over JSON as a decimal string: JSON numbers above 2^53 lose digits in most clients.
 */
import { Type } from 'typebox'

/** Largest amount one transaction may move: 10^15 minor units keeps every sum far inside bigint. */
export const MAX_AMOUNT = 10n ** 15n

/**
 * An amount in a request: canonical decimal digits only ("1050"). No JSON numbers (they lose
 * digits above 2^53), no sign, spaces, leading zeros, exponents or hex: one amount, one spelling,
 * so the idempotency hash and the audit trail see what the client meant. Bodies are validated
 * without coercion (platform/validation.ts), so `1050` and `["1050"]` are refused too.
 */
export const AmountInput = Type.String({
  pattern: '^[1-9][0-9]{0,15}$',
  maxLength: 16,
  description: 'Positive integer of minor units (cents) as canonical decimal digits, at most 10^15',
  examples: ['1050'],
})

/** An amount or balance in a response: always a decimal string of minor units. */
export const MinorUnits = Type.String({
  pattern: '^-?[0-9]+$',
  description: 'Integer minor units as a string',
})

/** Parses a request amount; undefined unless it is canonical digits for 1 to MAX_AMOUNT. */
export function parseAmount(value: string): bigint | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) return undefined
  const amount = BigInt(value)
  return amount <= MAX_AMOUNT ? amount : undefined
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
