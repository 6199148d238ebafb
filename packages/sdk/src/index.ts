/**
 * The typed client of the service's API: openapi-fetch over the types openapi-typescript generates
 * from the service's own OpenAPI document (packages/sdk/openapi.json). Mobile teams can generate
 * their own client (Swift, Kotlin) from the same document.
 */
import createClient, { type ClientOptions } from 'openapi-fetch'
import type { components, operations, paths } from './generated/schema.js'

export type { components, operations, paths }

/** A schema of the document by name: `Schema<'ErrorResponse'>`. */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name]

/** The client type `createApiClient` returns. */
export type ApiClient = ReturnType<typeof createClient<paths>>

/** A client for one deployment; `baseUrl` is the API's origin (`https://api.example.com`). */
export function createApiClient(options: ClientOptions & { baseUrl: string }): ApiClient {
  return createClient<paths>(options)
}
