// `npm run db:drift -w app`: proves on a fresh database that the committed migrations apply and
// produce exactly what schema.prisma describes. Exit 0 in sync, 1 on drift or a failing migration,
// 2 when the check itself could not run.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { applyMigrations } from '../../app/src/db/migrate.js'
import { openSchemaEngine } from './engine.js'
import { noFilters, parseArgs, readSchema, temporaryDatabase, type WorkspaceOptions } from './workspace.js'

/** Outcome of a drift check: `differences` is the engine's summary of what the migrations lack. */
export type DriftResult =
  | { status: 'in-sync'; applied: string[] }
  | { status: 'drift'; applied: string[]; differences: string; script: string }
  | { status: 'migration-failed'; error: string }

/** Applies the migrations to a temporary database and diffs it against the schema; drops the database after. */
export async function checkDrift(opts: WorkspaceOptions): Promise<DriftResult> {
  const schema = readSchema(opts.schemaPath)
  const db = await temporaryDatabase(opts.serverUrl, 'drift')
  try {
    let applied: string[]
    try {
      applied = (await applyMigrations({ databaseUrl: db.url, migrationsDir: opts.migrationsDir })).applied
    } catch (err) {
      return { status: 'migration-failed', error: (err as Error).message }
    }
    const { engine, close } = await openSchemaEngine(db.url)
    try {
      // "schemaDatasource" is the live database the engine is connected to: the one just migrated.
      const from = { tag: 'schemaDatasource' as const, ...schema, configDir: opts.schemaPath }
      const to = { tag: 'schemaDatamodel' as const, ...schema }
      const summary = await engine.diff({ from, to, script: false, exitCode: true, filters: noFilters })
      if (summary.exitCode === 0) return { status: 'in-sync', applied }
      const script = await engine.diff({ from, to, script: true, exitCode: true, filters: noFilters })
      return { status: 'drift', applied, differences: summary.stdout ?? '', script: script.stdout ?? '' }
    } finally {
      await close()
    }
  } finally {
    await db.drop()
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const result = await checkDrift(opts)
  if (result.status === 'migration-failed') {
    console.error(`drift: the committed migrations do not apply to an empty database:\n  ${result.error}`)
    return 1
  }
  if (result.status === 'drift') {
    console.error(
      `drift: ${opts.schemaPath} differs from what its ${result.applied.length} migration(s) produce:` +
        `${result.differences.trimEnd()}\n\nSQL that would close the gap:\n${result.script.trimEnd()}\n\n` +
        'Create the migration with: npm run db:migration:create -w app -- --name <what_changed>',
    )
    return 1
  }
  console.log(`drift: none; ${result.applied.length} migration(s) produce exactly ${opts.schemaPath}`)
  return 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`drift: could not run the check: ${err instanceof Error ? err.message : String(err)}`)
      process.exit(2)
    },
  )
}
