/**
 * Secrets never reach the logs, whichever object they travel in: request headers that carry
 * credentials, and password and token fields at the top of a line or one level down.
 *
 * Pino's `redact` option did this with paths, but a wildcard path (`*.password`) sends every value
 * of every line through a selective deep clone: 15% of the CPU of a cached `GET /v1/me` in a
 * profile of the benchmark (docs/benchmarks.md). The access line's request is a fresh object of
 * our serializer, so its headers are censored while it is built; every other line is checked by
 * the log formatter, which copies an object only when it holds a secret.
 */

/** What a secret is replaced with. */
export const CENSOR = '[redacted]'

/** Request headers that carry credentials: the bearer token, the session and device cookies. */
const SECRET_HEADERS = ['authorization', 'cookie', 'x-device-token'] as const

/** Field names whose values are secrets wherever a line carries them. */
const SECRET_FIELDS = ['password', 'token', 'passwordHash'] as const

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null

/** A copy of `headers` with the credential headers censored (the access line's `req.headers`). */
export function censorHeaders(headers: Fields): Fields {
  const copy = { ...headers }
  for (const name of SECRET_HEADERS) if (copy[name] !== undefined) copy[name] = CENSOR
  return copy
}

/**
 * A shallow copy that keeps what the serializers look at: arrays stay arrays, and an error keeps
 * its prototype and its own non-enumerable message and stack.
 */
function copyOf(fields: Fields): Fields {
  if (Array.isArray(fields)) return fields.slice() as unknown as Fields
  let copy: Fields
  if (Object.getPrototypeOf(fields) === Object.prototype) copy = { ...fields }
  else {
    const own = Object.getOwnPropertyDescriptors(fields)
    for (const descriptor of Object.values(own)) descriptor.configurable = true
    // V8 may keep an error's stack behind an accessor that reads the original object.
    if (fields instanceof Error) own.stack = { value: fields.stack, enumerable: false, writable: true }
    copy = Object.create(Object.getPrototypeOf(fields) as object, own) as Fields
  }
  // A reference to itself (`err.self = err`) would print the uncensored original one level down.
  for (const key of Object.keys(copy)) {
    const descriptor = Object.getOwnPropertyDescriptor(copy, key)
    if (descriptor && 'value' in descriptor && descriptor.value === fields) copy[key] = copy
  }
  return copy
}

/** `fields` itself when it holds none of `names`, else a copy with them censored. */
function censored(fields: Fields, names: readonly string[]): Fields {
  let copy: Fields | undefined
  for (const name of names) {
    // Inherited fields count: pino's error serializer prints an error's inherited enumerables.
    if (fields[name] === undefined) continue
    copy ??= copyOf(fields)
    Object.defineProperty(copy, name, { value: CENSOR, enumerable: true, writable: true, configurable: true })
  }
  return copy ?? fields
}

/**
 * Pino `formatters.log`: the line's object with secret fields censored at its top level, in each
 * object it holds, in each object of its `body`, and a `res.headers` Set-Cookie. Objects without a
 * secret are passed through as they are; the caller's objects are never changed.
 */
export function censorSecrets(line: Fields): Fields {
  let out = censored(line, SECRET_FIELDS)
  for (const key of Object.keys(out)) {
    const value = out[key]
    if (!isObject(value)) continue
    let next = censored(value, SECRET_FIELDS)
    if (key === 'body') next = censorEach(next)
    if (key === 'res' && isObject(next.headers)) {
      const headers = censored(next.headers, ['set-cookie'])
      if (headers !== next.headers) next = { ...next, headers }
    }
    if (next !== value) {
      if (out === line) out = { ...line }
      out[key] = next
    }
  }
  return out
}

/** `body` with the password of each object it holds censored (a batch of credentials). */
function censorEach(body: Fields): Fields {
  let copy: Fields | undefined
  for (const key of Object.keys(body)) {
    const value = body[key]
    if (!isObject(value)) continue
    const next = censored(value, ['password'])
    if (next === value) continue
    copy ??= copyOf(body)
    copy[key] = next
  }
  return copy ?? body
}

/** A logger whose children carry bindings (pino's and Fastify's loggers). */
interface Parent {
  child(bindings: Fields, options?: unknown): unknown
}

/**
 * Censors the bindings of every child of `logger` (`log.child({ token })`), as `censorSecrets`
 * censors a line: pino runs `formatters.log` on each line's own object only and gives children a
 * pass-through `formatters.bindings` (lib/proto.js), so bound fields would print as given. Children
 * are created from their parent by prototype, so they and theirs inherit the wrapper.
 */
export function censorChildBindings<T extends Parent>(logger: T): T {
  const child = logger.child
  logger.child = function (this: T, bindings: Fields, options?: unknown) {
    return child.call(this, censorSecrets(bindings), options)
  }
  return logger
}
