/** Types of scripts/web-server.mjs for the TypeScript callers (the e2e journey). */
export function cacheControlFor(path: string): string
export function configScript(apiUrl: string): string
export function s3CorsXml(origins: string[]): string
export function startWebServer(options: {
  dir: string
  apiUrl: string | (() => string)
  host?: string
  port?: number
}): Promise<{ url: string; close: () => Promise<void> }>
