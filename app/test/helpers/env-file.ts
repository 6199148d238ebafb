import { readFileSync } from 'node:fs'

/** Parses KEY=VALUE lines the way docker compose and dotenv read them (comments and blanks skipped). */
export function parseEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (match) env[match[1] as string] = match[2] as string
  }
  return env
}
