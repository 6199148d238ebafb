/** Ports and polling: what every local harness needs before it can start anything. */
import { createServer } from 'node:net'

/** A TCP port nothing listens on right now on 127.0.0.1 (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every `everyMs` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return
    await sleep(everyMs)
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms`)
}

/**
 * Polls GET `url` until it answers 200 and returns the parsed body; stops early when `gone()`
 * reports that the process meant to answer has exited.
 */
export async function waitForOk(
  url: string,
  timeoutMs: number,
  gone: () => boolean = () => false,
): Promise<{ ms: number; body: unknown }> {
  const started = Date.now()
  let last = 'no answer'
  while (Date.now() - started < timeoutMs) {
    if (gone()) throw new Error(`the process exited before ${url} answered (last: ${last})`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      const text = await res.text()
      if (res.status === 200) return { ms: Date.now() - started, body: parseJson(text) }
      last = `${res.status} ${text.slice(0, 200)}`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(100)
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
