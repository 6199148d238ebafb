/** Decimal places of a currency (JPY 0, EUR 2, KWD 3), as the browser's Intl knows them. */
export function fractionDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  )
}

/** Minor units (a string of digits, maybe negative) shown in the user's locale: "12,345.67 €". */
export function formatMoney(minor: string, currency: string, locale?: string): string {
  const digits = fractionDigits(currency)
  const negative = minor.startsWith('-')
  const abs = (negative ? minor.slice(1) : minor).padStart(digits + 1, '0')
  const whole = abs.slice(0, abs.length - digits)
  const frac = abs.slice(abs.length - digits)
  // Intl formats a decimal string exactly (Intl.NumberFormat v3): no float rounding, -0.05 keeps its sign.
  const decimal = `${negative ? '-' : ''}${whole}${digits > 0 ? `.${frac}` : ''}`
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(decimal as unknown as number)
}

/** "12.5" in EUR -> "1250"; undefined when the text is not a positive amount with at most the currency's decimals. */
export function parseMoney(text: string, currency: string): string | undefined {
  const digits = fractionDigits(currency)
  const match = /^\s*(\d{1,13})(?:[.,](\d+))?\s*$/.exec(text)
  if (!match) return undefined
  const frac = match[2] ?? ''
  if (frac.length > digits) return undefined
  const minor = BigInt(`${match[1]}${frac.padEnd(digits, '0')}`)
  return minor > 0n ? minor.toString() : undefined
}
