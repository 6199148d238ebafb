/**
 * A real S3-compatible server for tests: s3rver on a free port with its own directory and bucket.
 * It speaks the S3 REST API (PUT/POST/HEAD/GET/DELETE objects, multi-object delete) but does not
 * verify SigV4 signatures nor POST policy conditions (see node_modules/s3rver/lib/middleware/
 * authentication.js and controllers/object.js): tests assert the policy we sign, and that our own
 * completion check catches what the signature would have refused.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'

/** A running s3rver and the env that points the service at it. */
export interface TestS3 {
  endpoint: string
  bucket: string
  env: Record<string, string>
  client: S3Client
  /** True when the object exists in the bucket. */
  exists(key: string): Promise<boolean>
  close(): Promise<void>
}

/** Starts s3rver on 127.0.0.1:<free port> with one empty bucket. */
export async function startS3(bucket = 'uploads'): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  // The SDK's default credential chain reads these; s3rver knows exactly this key pair.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
  const env = {
    S3_ENDPOINT: endpoint,
    S3_BUCKET: bucket,
    S3_REGION: 'us-east-1',
    S3_FORCE_PATH_STYLE: 'true',
  }
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true })
  return {
    endpoint,
    bucket,
    env,
    client,
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
        return true
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return false
        throw err
      }
    },
    async close() {
      client.destroy()
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

/** Sends a file through a presigned POST the way a browser form would; returns the HTTP status. */
export async function postForm(
  upload: { uploadUrl: string; fields: Record<string, string> },
  bytes: Buffer,
  fileName = 'file.bin',
): Promise<{ status: number; body: string }> {
  const form = new FormData()
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value)
  // S3 ignores every field after the file, so it goes last.
  form.append('file', new Blob([bytes]), fileName)
  const res = await fetch(upload.uploadUrl, { method: 'POST', body: form })
  return { status: res.status, body: await res.text() }
}
