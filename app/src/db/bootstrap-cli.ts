// `node dist/src/db/bootstrap-cli.js`: the role bootstrap (bootstrap.ts) as the RDS master user. The deploy job
// starts it as its own ECS task, with the master password injected from the RDS-managed secret, before the
// migration task; no other task holds that password. Safe to run on every deploy: a bootstrapped database is
// left as it is.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { BOOTSTRAP_MASTER_PASSWORD_ENV } from '../contract.js'
import { bootstrapRoles } from './bootstrap.js'
import { connectionConfig } from './connection.js'
import { migrationUrl } from './migrate-cli.js'

/** pg config of the master at the current writer: DATABASE_URL (no password) plus the injected password. */
export async function bootstrapConnection(env: NodeJS.ProcessEnv = process.env): Promise<pg.ClientConfig> {
  const password = env[BOOTSTRAP_MASTER_PASSWORD_ENV]
  if (!password)
    throw new Error(`${BOOTSTRAP_MASTER_PASSWORD_ENV} is not set (the RDS-managed master secret)`)
  const url = await migrationUrl(env)
  return { ...connectionConfig(url, false), password, connectionTimeoutMillis: 10_000 }
}

async function main() {
  const config = await bootstrapConnection()
  console.log(`[bootstrap] writer ${config.host}:${config.port} as ${config.user}`)
  const client = new pg.Client(config)
  await client.connect()
  try {
    const { createdRoles, reassigned } = await bootstrapRoles(client)
    if (!createdRoles.length && !reassigned.length) console.log('[bootstrap] already bootstrapped: no change')
    for (const role of createdRoles) console.log(`[bootstrap] created role ${role}`)
    for (const object of reassigned) console.log(`[bootstrap] ${object} now owned by the migrator`)
  } finally {
    await client.end()
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`[bootstrap] ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  })
}
