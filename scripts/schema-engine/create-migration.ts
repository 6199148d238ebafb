// `npm run db:migration:create -w app -- --name add_avatar`: writes the SQL that takes the committed
// migrations to schema.prisma as a new prisma/migrations/<timestamp>_<name>/migration.sql. The engine
// replays the migrations on a shadow database to know where they end; nothing is written when the
// schema and the migrations already agree.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openSchemaEngine } from './engine.js'
import {
  LOCKFILE,
  migrationList,
  noFilters,
  parseArgs,
  readSchema,
  temporaryDatabase,
  type WorkspaceOptions,
} from './workspace.js'

/** `20261122023000`-style UTC timestamp, as Prisma names migration folders. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

/** A folder name that sorts after every existing migration, even when the clock is behind them. */
export function nextMigrationName(existing: string[], name: string, now = new Date()): string {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
  if (!slug) throw new Error('--name needs letters or digits')
  let stamp = timestamp(now)
  const latest = existing
    .map((e) => e.slice(0, 14))
    .filter((s) => /^\d{14}$/.test(s))
    .sort()
    .at(-1)
  if (latest && stamp <= latest) stamp = timestamp(new Date(parseStamp(latest).getTime() + 1000))
  return `${stamp}_${slug}`
}

function parseStamp(s: string): Date {
  const [y, mo, d, h, mi, se] = [
    s.slice(0, 4),
    s.slice(4, 6),
    s.slice(6, 8),
    s.slice(8, 10),
    s.slice(10, 12),
    s.slice(12),
  ]
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${se}Z`)
}

/** Writes the next migration; returns its folder name, or undefined when there is nothing to migrate. */
export async function createMigration(
  opts: WorkspaceOptions & { name: string; now?: Date },
): Promise<{ name: string; sql: string } | undefined> {
  const schema = readSchema(opts.schemaPath)
  const list = migrationList(opts.migrationsDir)
  // The engine needs a main connection even though the diff only touches its shadow database.
  const db = await temporaryDatabase(opts.serverUrl, 'migration_create')
  try {
    const { engine, close } = await openSchemaEngine(db.url)
    try {
      const result = await engine.diff({
        from: { tag: 'migrations', ...list },
        to: { tag: 'schemaDatamodel', ...schema },
        script: true,
        exitCode: true,
        filters: noFilters,
      })
      if (result.exitCode === 0) return undefined
      const name = nextMigrationName(
        list.migrationDirectories.map((m) => m.path),
        opts.name,
        opts.now,
      )
      const sql = result.stdout ?? ''
      mkdirSync(join(opts.migrationsDir, name), { recursive: true })
      writeFileSync(join(opts.migrationsDir, name, 'migration.sql'), sql)
      const lock = join(opts.migrationsDir, 'migration_lock.toml')
      if (!existsSync(lock)) {
        writeFileSync(lock, LOCKFILE)
      }
      return { name, sql }
    } finally {
      await close()
    }
  } finally {
    await db.drop()
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const name = opts.flags.get('name')
  if (!name) {
    console.error(
      'usage: npm run db:migration:create -w app -- --name <what_changed> [--schema F] [--migrations D]',
    )
    return 2
  }
  const created = await createMigration({ ...opts, name })
  if (!created) {
    console.log(`no changes: the migrations in ${opts.migrationsDir} already produce ${opts.schemaPath}`)
    return 0
  }
  console.log(
    `created ${join(opts.migrationsDir, created.name, 'migration.sql')}:\n\n${created.sql.trimEnd()}`,
  )
  console.log('\nReview the SQL, then commit it together with the schema change.')
  return 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`db:migration:create: ${err instanceof Error ? err.message : String(err)}`)
      process.exit(2)
    },
  )
}
