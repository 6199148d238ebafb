// `npm run db:migrate`: applies the committed migrations to DATABASE_URL. The production image runs it
// (`node dist/src/db/migrate-cli.js`) once per deploy before new tasks take traffic, as the migrator role
// (DB_MIGRATOR_ROLE) with an IAM token (DATABASE_IAM_AUTH=true).
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ENV } from '../contract.js'
import { applyMigrations, MigrationError } from './migrate.js'
import { withEndpoint, writerEndpointReader } from './writer-endpoint.js'

/** Nearest folder at or above `start` holding a package.json (app/ in the repo, the app root in the image). */
function packageRoot(start: string): string {
  let dir = start
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) return start
    dir = parent
  }
  return dir
}

/**
 * MIGRATIONS_DIR when set; otherwise the first `prisma/migrations` found from the working directory,
 * the app package (the image copies it there), or the repository root above the app package.
 */
export function resolveMigrationsDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.MIGRATIONS_DIR) return resolve(cwd, env.MIGRATIONS_DIR)
  const pkg = packageRoot(dirname(fileURLToPath(import.meta.url)))
  const candidates = [cwd, pkg, dirname(pkg)].map((d) => join(d, 'prisma', 'migrations'))
  const found = candidates.find((c) => existsSync(c))
  if (!found)
    throw new MigrationError(
      `no prisma/migrations found (looked in ${candidates.join(', ')}); set MIGRATIONS_DIR`,
    )
  return found
}

/**
 * The URL migrations run against: DATABASE_URL pointed at the current writer when a writer-endpoint source is
 * set. After a DR promotion DATABASE_URL still names the old writer (a stale or read-only replica); the source
 * (the SSM parameter the DR command rewrites) names the database that takes writes now, as for the service.
 */
export async function migrationUrl(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const databaseUrl = env[ENV.databaseUrl]
  if (!databaseUrl) throw new MigrationError(`${ENV.databaseUrl} is not set`)
  const source = env[ENV.writerEndpointSource]
  if (!source) return databaseUrl
  return withEndpoint(databaseUrl, await writerEndpointReader(source)())
}

async function main() {
  const databaseUrl = await migrationUrl()
  console.log(`[migrate] writer ${new URL(databaseUrl).host}`)
  const migrationsDir = resolveMigrationsDir()
  const started = Date.now()
  const lockTimeout = process.env.MIGRATION_LOCK_TIMEOUT_MS
  if (lockTimeout !== undefined && !/^\d+$/.test(lockTimeout)) {
    throw new MigrationError('MIGRATION_LOCK_TIMEOUT_MS must be a whole number of milliseconds')
  }
  const { applied } = await applyMigrations({
    databaseUrl,
    // On RDS the migrator role signs an IAM token per connection, in whichever region the writer is.
    iamAuth: process.env[ENV.databaseIamAuth] === 'true',
    migrationsDir,
    statementLockTimeoutMs: lockTimeout === undefined ? undefined : Number(lockTimeout),
    log: (msg) => console.log(`[migrate] ${msg}`),
  })
  console.log(
    `[migrate] done in ${Date.now() - started} ms (${applied.length} applied from ${migrationsDir})`,
  )
}

// Only when run as a program, so tests can import resolveMigrationsDir.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`[migrate] ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  })
}
