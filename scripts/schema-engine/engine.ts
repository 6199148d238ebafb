// Prisma's schema engine (WASM build) driven through @prisma/adapter-pg: the offline stand-in for
// `prisma migrate diff|dev`, whose native engine cannot be downloaded here. Dev-time only.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { PrismaPg } from '@prisma/adapter-pg'
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils'
import type { SchemaEngine } from '@prisma/schema-engine-wasm'
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg'
import pg from 'pg'
import { sql } from '../kit/postgres.js'
import { tempPrefix } from './workspace.js'

const require = createRequire(import.meta.url)

let loaded: Promise<void> | undefined

// The WebAssembly global ships with Node but its types only with the DOM lib, which this project leaves out.
interface WasmGlobal {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmGlobal }

// The package's entry imports the .wasm as an ES module, which Node 20 only allows behind
// --experimental-wasm-modules; instantiating it by hand needs no flag.
function loadWasm(): Promise<void> {
  loaded ??= (async () => {
    const file = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm')
    const { instance } = await WebAssembly.instantiate(readFileSync(file), {
      './schema_engine_bg.js': bindings,
    })
    bindings.__wbg_set_wasm(instance.exports)
    ;(instance.exports.__wbindgen_start as () => void)()
  })()
  return loaded
}

const CHAR_OID = 18
const TEXT_OID = 25

type Fields = { fields?: { dataTypeID: number }[] }

// adapter-pg cannot deserialize PostgreSQL's internal one-byte "char" type, which the engine's catalog
// queries return (pg_class.relkind, pg_constraint.contype...). Its text form is what the engine expects.
function charAsText<T>(result: T): T {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of (r as Fields)?.fields ?? [])
      if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID
  }
  return result
}

function patchedPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config)
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const last = args.at(-1)
      if (typeof last === 'function') {
        args[args.length - 1] = (err: unknown, res: unknown) => last(err, err ? res : charAsText(res))
        return query(...args)
      }
      const out = query(...args)
      return out instanceof Promise ? out.then(charAsText) : out
    }
  })
  return pool
}

/**
 * adapter-pg 7.10 runs a migration script by splitting it on every ";", which cuts function and
 * trigger bodies (`$$ ... $$`) apart. PostgreSQL's simple query protocol runs a multi-statement
 * script whole, exactly as `db:migrate` applies it.
 */
function wholeScripts(adapter: SqlDriverAdapter, pool: pg.Pool): SqlDriverAdapter {
  adapter.executeScript = async (script: string) => {
    await pool.query(script)
  }
  return adapter
}

/** Host, port, user, password and database of a URL, without the URL itself. */
function plainConfig(url: string): pg.PoolConfig {
  const u = new URL(url)
  return {
    host: decodeURIComponent(u.hostname),
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  }
}

/**
 * A migration-aware adapter factory over adapter-pg that works around its 7.10 quirks: "char" columns,
 * a shadow database that inherits `connectionString` (so it lands on the main database), and a shadow
 * database dropped while its own pool still holds connections.
 */
class PgMigrationFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres'
  readonly adapterName = '@prisma/adapter-pg'

  constructor(private readonly url: string) {}

  async connect(): Promise<SqlDriverAdapter> {
    const pool = patchedPool(plainConfig(this.url))
    return wholeScripts(await new PrismaPg(pool, { disposeExternalPool: true }).connect(), pool)
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const database = `${tempPrefix()}prisma_shadow_${randomUUID().replace(/-/g, '')}`
    const admin = plainConfig(this.url)
    await sql(this.url, `CREATE DATABASE "${database}"`)
    const pool = patchedPool({ ...admin, database })
    const adapter = wholeScripts(await new PrismaPg(pool, { disposeExternalPool: true }).connect(), pool)
    const dispose = adapter.dispose.bind(adapter)
    adapter.dispose = async () => {
      await dispose()
      await sql(this.url, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
    }
    return adapter
  }
}

/** An open schema engine and how to release it (engine memory, pools). */
export interface OpenEngine {
  engine: SchemaEngine
  close(): Promise<void>
}

/** Starts the WASM schema engine against the database at `url` (its server also hosts shadow databases). */
export async function openSchemaEngine(
  url: string,
  log: (line: string) => void = () => {},
): Promise<OpenEngine> {
  await loadWasm()
  const factory = bindMigrationAwareSqlAdapterFactory(new PgMigrationFactory(url))
  const engine = (await bindings.SchemaEngine.new({ datamodels: undefined }, log, factory)) as SchemaEngine
  return {
    engine,
    close: async () => {
      engine.free()
    },
  }
}
