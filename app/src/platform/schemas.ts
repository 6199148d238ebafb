/** Schemas shared by routes: the error envelope and small building blocks. */
import { type Static, Type } from 'typebox'

/** `{ error: { code, message, requestId, details? } }`: every non-2xx answer. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ examples: ['VALIDATION_FAILED'] }),
      message: Type.String(),
      requestId: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    }),
  },
  { $id: 'ErrorResponse', description: 'Error envelope shared by every route' },
)
export type ErrorResponse = Static<typeof ErrorResponse>

/** A reference to the shared error schema, for `response: { 4xx: errorRef }`. */
export const errorRef = Type.Unsafe<ErrorResponse>(Type.Ref('ErrorResponse'))

/** The error responses most authenticated routes can give. */
export const authErrors = { 401: errorRef, 429: errorRef, 503: errorRef } as const
