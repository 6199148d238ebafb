import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { createS3Client, Storage } from './s3.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The uploads bucket. */
    storage: Storage
  }
}

async function storagePlugin(app: FastifyInstance, opts: { config: Config['s3'] }) {
  const client = createS3Client(opts.config)
  // Presigned URLs go to browsers: sign them for the name browsers reach the store by (compose).
  const { publicEndpoint } = opts.config
  const signer = publicEndpoint ? createS3Client({ ...opts.config, endpoint: publicEndpoint }) : client
  const storage = new Storage(client, opts.config, signer)
  app.decorate('storage', storage)
  app.addHook('onClose', async () => {
    storage.client.destroy()
    if (signer !== client) signer.destroy()
  })
}

export default fp(storagePlugin, { name: 'storage', fastify: '5.x' })
