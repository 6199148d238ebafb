/**
 * fast-check generators derived from the JSON Schemas of an OpenAPI document: values a schema
 * allows (with its boundaries), and hostile values aimed at the layers under validation
 * (PostgreSQL text and casts, Date, BigInt, recursion). Each field is hostile with some
 * probability, so most requests get past validation and reach the handlers.
 */
import fc from 'fast-check'

/** The subset of JSON Schema our route schemas use. */
export interface Schema {
  type?: string | string[]
  format?: string
  pattern?: string
  enum?: unknown[]
  const?: unknown
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  additionalProperties?: boolean | Schema
  default?: unknown
  $ref?: string
}

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Values that broke (or could break) something below validation, each a class from issue 10. */
export const HOSTILE_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  'Infinity',
  '-Infinity',
  'NaN',
  '1e309',
  '-1',
  '0x10',
  '1e3',
  ' 42',
  '+5',
  '0100',
  '99999999999999999999999999999',
  '9223372036854775808',
  '-9223372036854775809',
  '0000-01-01',
  '0000-01-01T00:00:00Z',
  '2016-12-31T23:59:60Z',
  '9999-12-31T23:59:59-23:59',
  '+275760-09-13T00:00:00Z',
  '2024-02-30',
  '------------------------------------',
  '00000000-0000-0000-0000-00000000000g',
  cursor(['0000-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000']),
  cursor(['2024-01-01T00:00:00Z', '------------------------------------']),
  cursor([1e308, '2024-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000']),
  cursor([-1, '2024-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000']),
  cursor({ a: 1 }),
  'not-a-cursor',
  '\u202Eevil\u202Cfdp.exe',
  'na\u200Bme\u2066.txt',
  '../../etc/passwd',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '&&& ||| !!! ::: ***',
  '"unterminated',
  '🙂'.repeat(60),
  'x'.repeat(5000),
  '',
  ' ',
]

const nested = (depth: number) => {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

/** Whole bodies no generator writes: broken JSON, duplicate keys, prototype keys, 5,000 levels deep. */
export const HOSTILE_BODIES = [
  '{',
  '[]',
  '"x"',
  'null',
  '{"a":1,"a":2}',
  '{"__proto__":{"x":1}}',
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  `{"name":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`,
]

/** Hostile JSON values of any type. */
export const HOSTILE_VALUES: unknown[] = [
  ...HOSTILE_STRINGS,
  null,
  true,
  0,
  -0,
  -1,
  1.5,
  2 ** 53 + 1,
  1e308,
  -1e308,
  [],
  ['5'],
  {},
  { __proto__x: 1 },
  nested(40),
  { a: { b: { c: { d: { e: nested(100) } } } } },
]

const hostile = fc.constantFrom(...HOSTILE_VALUES)

/** Known good values per format, so ids hit real rows of the signed-in user. */
export interface Fixtures {
  uuids: () => string[]
}

const MIN_DAY = Date.UTC(1970, 0, 1)
const MAX_DAY = Date.UTC(2100, 0, 1)

function stringFor(schema: Schema, fixtures: Fixtures): fc.Arbitrary<unknown> {
  if (schema.format === 'uuid') {
    return fc.oneof(
      fc.uuid(),
      fc.nat().map((i) => {
        const known = fixtures.uuids()
        return known[i % Math.max(1, known.length)] ?? '00000000-0000-4000-8000-000000000000'
      }),
    )
  }
  if (schema.format === 'date-time') {
    return fc.integer({ min: MIN_DAY, max: MAX_DAY }).map((t) => new Date(t).toISOString())
  }
  if (schema.format === 'date') {
    return fc.integer({ min: MIN_DAY, max: MAX_DAY }).map((t) => new Date(t).toISOString().slice(0, 10))
  }
  if (schema.format === 'email') {
    return fc.emailAddress()
  }
  if (schema.pattern === '^[1-9][0-9]{0,15}$') {
    return fc.oneof(
      fc.bigInt({ min: 1n, max: 10n ** 15n }).map(String),
      fc.constantFrom('1', '999', '1000000000000000'),
    )
  }
  if (schema.pattern === '^[A-Z]{3}$') return fc.constantFrom('EUR', 'USD', 'JPY', 'XXX', 'ZZZ')
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' })
  const minLength = schema.minLength ?? 0
  const maxLength = Math.min(schema.maxLength ?? 40, 300)
  return fc.oneof(
    fc.string({ minLength, maxLength, unit: 'grapheme' }),
    fc.string({ minLength: maxLength, maxLength }),
    fc.constantFrom('rent', 'coffee beans', 'invoice.pdf', 'Ünïcödé ✓'),
  )
}

/** An arbitrary of values for `schema`; `hostility` is the chance a value is replaced by a hostile one. */
export function arbitraryFor(
  schema: Schema,
  fixtures: Fixtures,
  hostility: number,
  resolve: (ref: string) => Schema,
): fc.Arbitrary<unknown> {
  const valid = validFor(schema, fixtures, hostility, resolve)
  const percent = Math.round(hostility * 100)
  return fc.integer({ min: 1, max: 100 }).chain((roll) => (roll <= percent ? hostile : valid))
}

function validFor(
  schema: Schema,
  fixtures: Fixtures,
  hostility: number,
  resolve: (ref: string) => Schema,
): fc.Arbitrary<unknown> {
  if (schema.$ref) return validFor(resolve(schema.$ref), fixtures, hostility, resolve)
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives) return fc.oneof(...alternatives.map((s) => validFor(s, fixtures, hostility, resolve)))
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string':
      return stringFor(schema, fixtures)
    case 'integer': {
      const min = schema.minimum ?? -1000
      const max = schema.maximum ?? 1_000_000
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max))
    }
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(
        schema.items ? arbitraryFor(schema.items, fixtures, hostility, resolve) : fc.anything(),
        {
          maxLength: 5,
        },
      )
    case 'object': {
      const props = schema.properties ?? {}
      const required = new Set(schema.required ?? [])
      const fields = Object.fromEntries(
        Object.entries(props).map(([k, s]) => [k, arbitraryFor(s, fixtures, hostility, resolve)]),
      )
      const record = fc.record(fields, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) })
      // Now and then an unknown field, or a required one missing.
      return fc.tuple(record, fc.integer({ min: 1, max: 20 })).map(([value, roll]) => {
        const copy = { ...(value as Record<string, unknown>) }
        if (roll === 1) copy.unexpected = 'field'
        if (roll === 2) delete copy[[...required][0] ?? '']
        return copy
      })
    }
    default:
      return fc.anything({ maxDepth: 3 })
  }
}
