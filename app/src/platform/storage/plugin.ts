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
  const storage = new Storage(createS3Client(opts.config), opts.config)
  app.decorate('storage', storage)
  app.addHook('onClose', async () => storage.client.destroy())
}

export default fp(storagePlugin, { name: 'storage', fastify: '5.x' })
