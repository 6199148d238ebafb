/**
 * The uploads bucket. Clients never send file bytes through the service: they get a presigned
 * POST whose signed policy pins the object key, the exact Content-Type and a content-length-range,
 * so S3 itself rejects another type, a bigger file or another key. (A presigned PUT can sign
 * Content-Type and Content-Length too, but then the size must be exact and browsers cannot send a
 * form; the POST policy is the mechanism S3 documents for limits.)
 */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Config } from '../../config.js'

/** A form upload: POST `url` as multipart/form-data with `fields` first, then the `file` part. */
export interface PresignedUpload {
  url: string
  fields: Record<string, string>
  expiresAt: Date
}

/** What HEAD tells about a stored object. */
export interface ObjectInfo {
  size: number
  contentType: string | undefined
}

/** Builds the S3 client; credentials come from the SDK's default chain (env, profile, ECS task role). */
export function createS3Client(config: Config['s3']): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    // The SDK retries 3 times by default; a stuck bucket should not hold a request for long.
    maxAttempts: 2,
  })
}

/** Presigns uploads and downloads, checks and deletes objects of the uploads bucket. */
export class Storage {
  constructor(
    readonly client: S3Client,
    readonly config: Config['s3'],
    /** Signs presigned URLs; another client only when browsers use another endpoint. */
    readonly signer: S3Client = client,
  ) {}

  /** The prefix every object of a user lives under. */
  static userPrefix(userId: string): string {
    return `users/${userId}/`
  }

  /** A presigned POST that only accepts exactly this key, this content type and exactly `size` bytes. */
  async presignUpload(key: string, contentType: string, size: number): Promise<PresignedUpload> {
    const expires = this.config.uploadUrlTtlSeconds
    const { url, fields } = await createPresignedPost(this.signer, {
      Bucket: this.config.bucket,
      Key: key,
      Conditions: [
        ['eq', '$Content-Type', contentType],
        // The declared size, already checked against the maximum, is the only one S3 will take.
        ['content-length-range', size, size],
      ],
      Fields: { 'Content-Type': contentType },
      Expires: expires,
    })
    return { url, fields, expiresAt: new Date(Date.now() + expires * 1000) }
  }

  /** A short-lived GET URL that downloads the object under its original file name. */
  async presignDownload(key: string, fileName: string): Promise<{ url: string; expiresAt: Date }> {
    const expires = this.config.downloadUrlTtlSeconds
    const command = new GetObjectCommand({
      Bucket: this.config.bucket,
      Key: key,
      ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    })
    const url = await getSignedUrl(this.signer, command, { expiresIn: expires })
    return { url, expiresAt: new Date(Date.now() + expires * 1000) }
  }

  /** Size and type of an object, or undefined when it does not exist. */
  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }))
      return { size: out.ContentLength ?? 0, contentType: out.ContentType }
    } catch (err) {
      if (err instanceof NotFound) return undefined
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return undefined
      throw err
    }
  }

  /** Deletes every object under a prefix (records or not); returns how many there were. */
  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0
    let token: string | undefined
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ContinuationToken: token }),
      )
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []))
      await this.deleteObjects(keys)
      deleted += keys.length
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return deleted
  }

  /** Copies an object inside the bucket (server-side, metadata kept; single copies go up to 5 GB). */
  async copy(from: string, to: string): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.config.bucket,
        Key: to,
        CopySource: `${this.config.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
      }),
    )
  }

  /** Deletes objects (absent ones count as deleted), in batches of S3's 1000-key limit. */
  async deleteObjects(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000)
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.config.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      )
      if (out.Errors && out.Errors.length > 0) {
        throw new Error(`S3 refused to delete ${out.Errors.length} object(s): ${out.Errors[0]?.Code}`)
      }
    }
  }
}
