/**
 * Where the service learns the current PostgreSQL writer at run time, so a DR promotion can move
 * writes without a redeploy. The contract with `npm run dr -- promote` (infra/dr/writer-endpoint.ts):
 * the source holds `host:port` of the writer and nothing else; credentials, database name and
 * options stay in DATABASE_URL.
 */
import { readFile } from 'node:fs/promises'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'

/** Reads the current writer endpoint (`host:port`). */
export type WriterEndpointReader = () => Promise<string>

/** Problems with a DATABASE_WRITER_ENDPOINT_SOURCE value, or undefined when it is usable. */
export function writerSourceProblem(source: string): string | undefined {
  const match = /^(file|ssm):(.+)$/.exec(source)
  if (!match) return 'must be file:/path/to/file or ssm:/parameter/name'
  if (match[1] === 'ssm' && !match[2]?.startsWith('/')) return 'an SSM parameter name must start with /'
  return undefined
}

/** Builds the reader for a `file:` or `ssm:` source. */
export function writerEndpointReader(source: string, ssm?: SSMClient): WriterEndpointReader {
  const problem = writerSourceProblem(source)
  if (problem) throw new Error(`DATABASE_WRITER_ENDPOINT_SOURCE ${problem}`)
  const target = source.slice(source.indexOf(':') + 1)
  if (source.startsWith('file:')) {
    return async () => parseEndpoint(await readFile(target, 'utf8'))
  }
  // Created once: the SDK client keeps its connections and credentials cache between polls.
  const client = ssm ?? new SSMClient({ maxAttempts: 2 })
  return async () => {
    const result = await client.send(new GetParameterCommand({ Name: target }))
    return parseEndpoint(result.Parameter?.Value ?? '')
  }
}

/** Validates and normalises `host:port` (IPv6 hosts in brackets). */
export function parseEndpoint(raw: string): string {
  const value = raw.trim()
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  if (!match || port < 1 || port > 65535) {
    throw new Error(`writer endpoint must be host:port (got "${value.slice(0, 100)}")`)
  }
  return `${match[1]}:${port}`
}

/** The `host:port` a PostgreSQL URL points at. */
export function endpointOf(url: string): string {
  const u = new URL(url)
  return `${u.hostname}:${u.port || '5432'}`
}

/** The same URL (credentials, database, options) pointed at another `host:port`. */
export function withEndpoint(url: string, endpoint: string): string {
  const u = new URL(url)
  u.host = endpoint
  return u.toString()
}
