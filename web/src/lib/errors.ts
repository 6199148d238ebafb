/** The API could not be reached (no network, DNS, refused, or a gateway answering for it). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError'
}

/** The API answered with an error (the service's ErrorResponse shape). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message)
  }
}

// A load balancer or CDN answering for a missing service, not the service itself.
const GATEWAY_STATUSES = new Set([502, 503, 504])

/** The result of an openapi-fetch call, or the error it stands for. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: Awaited<typeof call>
  try {
    result = await call
  } catch (err) {
    // fetch rejects with a TypeError when no answer came at all.
    throw new NetworkError(err instanceof Error ? err.message : String(err))
  }
  const { data, error, response } = result
  if (response.ok) return data as T
  const body = (error ?? {}) as { error?: { code?: string; message?: string; details?: [] } }
  if (GATEWAY_STATUSES.has(response.status) && !body.error) {
    throw new NetworkError(`the API answered ${response.status}`)
  }
  throw new ApiError(
    response.status,
    body.error?.code ?? `HTTP_${response.status}`,
    body.error?.message ?? response.statusText,
    body.error?.details ?? [],
  )
}

/** True when retrying the same request may succeed (no answer, or the service is unavailable). */
export function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof ApiError && err.status === 503)
}
