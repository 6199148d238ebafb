import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Upload as UploadRow } from '../../generated/prisma/client.js'
import { badRequest, HttpError, notFound } from '../../platform/errors.js'
import { olderThan, toPage } from '../../platform/pagination.js'
import { authErrors, errorRef } from '../../platform/schemas.js'
import { Storage } from '../../platform/storage/s3.js'
import { currentUserId, sessionSecurity } from '../auth/current-user.js'

const Uuid = Type.String({ format: 'uuid' })

/** Characters a file name may not contain (see CreateBody). */
export const FILE_NAME_PATTERN =
  '^[^/\\\\\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff]+$'

/** Pending uploads one user may have open at once (records younger than the upload URL's lifetime). */
export const MAX_PENDING_UPLOADS = 20

/**
 * Where a completed upload's bytes live. The presigned POST pins `key`, and stays usable until
 * it expires; completion copies the checked object here, out of the form's reach, so nobody can
 * replace what was checked.
 */
export const storedKeyOf = (key: string) => `${key}/stored`

const UploadSchema = Type.Object(
  {
    id: Uuid,
    fileName: Type.String(),
    contentType: Type.String(),
    size: Type.Integer({
      description: 'Declared size in bytes; the signed policy accepts exactly this size',
    }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('completed')]),
    createdAt: Type.String({ format: 'date-time' }),
    completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'Upload' },
)
const uploadRef = Type.Unsafe<ReturnType<typeof toUpload>>(Type.Ref('Upload'))

const CreateBody = Type.Object(
  {
    // No path separators, C0/C1 controls, bidi overrides and isolates (U+202E makes "cod.exe" read
    // as "exe.doc"), zero-width or line-separator characters: the name is shown to people and used in
    // Content-Disposition.
    fileName: Type.String({ minLength: 1, maxLength: 255, pattern: FILE_NAME_PATTERN }),
    contentType: Type.String({ minLength: 3, maxLength: 100 }),
    size: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
)

const CreatedUpload = Type.Object({
  id: Uuid,
  upload: uploadRef,
  uploadUrl: Type.String({ description: 'POST here as multipart/form-data' }),
  uploadMethod: Type.Literal('POST'),
  fields: Type.Record(Type.String(), Type.String(), {
    description: 'Form fields to send, in order, before the `file` part (they carry the signed policy)',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
})

const UploadWithDownload = Type.Object({
  upload: uploadRef,
  downloadUrl: Type.Union([Type.String(), Type.Null()], { description: 'Short-lived; null until completed' }),
  downloadExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})

const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
)

/** The public shape of an upload row. */
export function toUpload(row: UploadRow) {
  return {
    id: row.id,
    fileName: row.fileName,
    contentType: row.contentType,
    size: row.size,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  }
}

/** S3 did not answer or refused: the client may retry. */
const storageUnavailable = () =>
  new HttpError(503, 'SERVICE_UNAVAILABLE', 'File storage temporarily unavailable, retry later', undefined, {
    'retry-after': '1',
  })

async function guardStorage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (err instanceof HttpError) throw err
    throw Object.assign(storageUnavailable(), { cause: err })
  }
}

/** File uploads straight to S3 through presigned POST policies (/v1/uploads...). */
const uploads: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preHandler', app.authenticate)
  app.addSchema(UploadSchema)
  const s3 = app.storage.config

  const findOwn = async (request: FastifyRequest, id: string) => {
    // Another user's upload is a 404, never a 403: existence is not revealed.
    const row = await app.prisma.upload.findFirst({ where: { id, userId: currentUserId(request) } })
    if (!row) throw notFound('Upload not found')
    return row
  }

  app.post(
    '',
    {
      schema: {
        tags: ['uploads'],
        summary: 'Start an upload: returns a presigned POST limited to this key, content type and size',
        security: sessionSecurity,
        body: CreateBody,
        response: { 201: CreatedUpload, 400: errorRef, 409: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const { fileName, contentType, size } = request.body
      const problems = []
      if (!s3.allowedContentTypes.includes(contentType.toLowerCase())) {
        problems.push({
          field: 'contentType',
          message: `must be one of ${s3.allowedContentTypes.join(', ')}`,
        })
      }
      if (size > s3.uploadMaxBytes) {
        problems.push({ field: 'size', message: `must be at most ${s3.uploadMaxBytes} bytes` })
      }
      if (problems.length > 0) throw badRequest('Upload not allowed', problems)

      const owner = currentUserId(request)
      const id = randomUUID()
      const key = `${Storage.userPrefix(owner)}${id}`
      const type = contentType.toLowerCase()
      // Sign first: if S3 is unreachable no orphan record is left behind.
      const presigned = await guardStorage(() => app.storage.presignUpload(key, type, size))
      // Count and insert under the owner's row lock, so concurrent requests cannot pass the cap together.
      const row = await app.prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM users WHERE id = ${owner}::uuid FOR NO KEY UPDATE`
        const pending = await tx.upload.count({
          where: {
            userId: owner,
            status: 'pending',
            createdAt: { gt: new Date(Date.now() - s3.uploadUrlTtlSeconds * 1000) },
          },
        })
        if (pending >= MAX_PENDING_UPLOADS) {
          throw new HttpError(
            409,
            'UPLOAD_LIMIT',
            `At most ${MAX_PENDING_UPLOADS} uploads may be pending at once`,
          )
        }
        return tx.upload.create({ data: { id, userId: owner, key, fileName, contentType: type, size } })
      })
      return reply.code(201).send({
        id,
        upload: toUpload(row),
        uploadUrl: presigned.url,
        uploadMethod: 'POST' as const,
        fields: presigned.fields,
        expiresAt: presigned.expiresAt.toISOString(),
      })
    },
  )

  app.post(
    '/:id/complete',
    {
      schema: {
        tags: ['uploads'],
        summary: 'Confirm an upload: checks the object exists in S3 with the declared size and type',
        security: sessionSecurity,
        params: Type.Object({ id: Uuid }),
        response: {
          200: Type.Object({ upload: uploadRef }),
          400: errorRef,
          404: errorRef,
          409: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const row = await findOwn(request, request.params.id)
      if (row.status === 'completed') return { upload: toUpload(row) }
      const info = await guardStorage(() => app.storage.head(row.key))
      if (!info) throw new HttpError(409, 'UPLOAD_MISSING', 'The file has not been uploaded yet')
      if (info.size !== row.size) {
        throw new HttpError(
          409,
          'UPLOAD_SIZE_MISMATCH',
          `Stored object has ${info.size} bytes, ${row.size} declared`,
        )
      }
      if (info.contentType && info.contentType.toLowerCase() !== row.contentType) {
        throw new HttpError(409, 'UPLOAD_TYPE_MISMATCH', 'Stored object has another content type')
      }
      // The checked bytes move out of the presigned form's reach before the upload counts as done.
      await guardStorage(() => app.storage.copy(row.key, storedKeyOf(row.key)))
      // Only the first completion flips the status and notifies, even if two race; the outbox row
      // commits with the status change.
      const done = await app.prisma.$transaction(async (tx) => {
        const flipped = await tx.upload.updateMany({
          where: { id: row.id, status: 'pending' },
          data: { status: 'completed', completedAt: new Date() },
        })
        const updated = toUpload(await tx.upload.findUniqueOrThrow({ where: { id: row.id } }))
        if (flipped.count === 1) {
          await app.notify(row.userId, 'upload.completed', { uploadId: row.id, fileName: row.fileName }, tx)
        }
        return updated
      })
      // The staging object is no longer needed; best effort (erasure and delete remove it anyway).
      await app.storage.deleteObjects([row.key]).catch((err: Error) => {
        request.log.warn({ err: { message: err.message } }, 'staging object not deleted')
      })
      return { upload: done }
    },
  )

  app.get(
    '',
    {
      schema: {
        tags: ['uploads'],
        summary: "The user's uploads, newest first, with cursor pagination",
        security: sessionSecurity,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(uploadRef),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          400: errorRef,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query
      const rows = await app.prisma.upload.findMany({
        where: { userId: currentUserId(request), ...olderThan(cursor) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      })
      return toPage(rows, limit, toUpload)
    },
  )

  app.get(
    '/:id',
    {
      schema: {
        tags: ['uploads'],
        summary: 'One upload with a short-lived download URL (once completed)',
        security: sessionSecurity,
        params: Type.Object({ id: Uuid }),
        response: { 200: UploadWithDownload, 400: errorRef, 404: errorRef, ...authErrors },
      },
    },
    async (request) => {
      const row = await findOwn(request, request.params.id)
      if (row.status !== 'completed')
        return { upload: toUpload(row), downloadUrl: null, downloadExpiresAt: null }
      const download = await guardStorage(() =>
        app.storage.presignDownload(storedKeyOf(row.key), row.fileName),
      )
      return {
        upload: toUpload(row),
        downloadUrl: download.url,
        downloadExpiresAt: download.expiresAt.toISOString(),
      }
    },
  )

  app.delete(
    '/:id',
    {
      schema: {
        tags: ['uploads'],
        summary: 'Delete an upload: the object in S3, then its record',
        security: sessionSecurity,
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), 400: errorRef, 404: errorRef, ...authErrors },
      },
    },
    async (request, reply) => {
      const row = await findOwn(request, request.params.id)
      // Object first: a failure leaves a record pointing at nothing rather than an unlisted object.
      await guardStorage(() => app.storage.deleteObjects([row.key, storedKeyOf(row.key)]))
      await app.prisma.upload.deleteMany({ where: { id: row.id } })
      return reply.code(204).send(null)
    },
  )
}

export default uploads
