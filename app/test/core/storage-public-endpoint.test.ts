import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'

// Compose: the service reaches MinIO as minio:9000, the host's browser as localhost:9000.
describe('presigned URLs for browsers on another network (S3_PUBLIC_ENDPOINT)', () => {
  let app: FastifyInstance
  before(async () => {
    // The SDK's default credential chain reads these (as the uploads tests' s3rver helper sets them).
    process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER'
    process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER'
    app = await buildTestApp({
      S3_ENDPOINT: 'http://minio:9000',
      S3_PUBLIC_ENDPOINT: 'http://localhost:9000',
      S3_FORCE_PATH_STYLE: 'true',
    })
  })
  after(async () => {
    await app.close()
  })

  it('signs uploads and downloads for the public endpoint', async () => {
    const upload = await app.storage.presignUpload('users/u/1', 'image/png', 10)
    expect(upload.url).to.equal('http://localhost:9000/uploads')
    const download = await app.storage.presignDownload('users/u/1', 'a.png')
    expect(new URL(download.url).host).to.equal('localhost:9000')
  })

  it('keeps talking to the store itself through the internal endpoint', async () => {
    const endpoint = await app.storage.client.config.endpoint?.()
    expect(endpoint?.hostname).to.equal('minio')
  })
})
