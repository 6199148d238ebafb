/**
 * The one step that runs as the RDS master user: create the migrator role (it owns the schema and runs every
 * migration from then on) and the application role, and hand the migrator every object the master owns. Roles
 * and ownership live in the database itself, so a cross-region replica and a promoted one have them too: no
 * later step in any region needs the master again. Idempotent: a second run changes nothing and says so.
 */
import type pg from 'pg'
import { DB_APP_ROLE, DB_MIGRATOR_ROLE } from '../contract.js'
import { MIGRATION_LOCK_KEY } from './migrate.js'

/** What one bootstrap run changed; all zero and empty on a database that was bootstrapped already. */
export interface BootstrapResult {
  createdRoles: string[]
  /** `kind name` of each object whose owner became the migrator. */
  reassigned: string[]
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`

/** Creates a login role unless it exists; roles are cluster-wide, so another database may have made it first. */
async function ensureLoginRole(client: pg.ClientBase, role: string): Promise<boolean> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])
  if (exists.rowCount) return false
  await client.query('SAVEPOINT create_role')
  try {
    await client.query(`CREATE ROLE ${ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION`)
    await client.query('RELEASE SAVEPOINT create_role')
    return true
  } catch (err) {
    // 42710 duplicate_object, 23505 unique_violation: a concurrent bootstrap created it.
    if (!['42710', '23505'].includes(String((err as { code?: string }).code))) throw err
    await client.query('ROLLBACK TO SAVEPOINT create_role')
    return false
  }
}

/** A grant the connected master may not make; the message names the statement to run as a role that may. */
export class BootstrapGrantRefused extends Error {
  constructor(
    readonly statement: string,
    cause: unknown,
  ) {
    super(
      `the master may not run: ${statement} (${(cause as Error).message}). PostgreSQL 16+ lets a role grant ` +
        'membership in rds_iam only if it holds ADMIN OPTION on rds_iam (CREATEROLE no longer suffices). The ' +
        `bootstrap rolled back, roles included: create the roles by hand (CREATE ROLE ${DB_APP_ROLE} LOGIN; CREATE ` +
        `ROLE ${DB_MIGRATOR_ROLE} LOGIN), run the statement as a role that holds that option (AWS Support can say ` +
        'which on RDS), then run the bootstrap again (it skips what exists). See docs/runbooks/database-credentials.md.',
      { cause },
    )
    this.name = 'BootstrapGrantRefused'
  }
}

/** Whether `member` is a direct member of rds_iam, and whether with ADMIN OPTION. */
async function iamMembership(
  client: pg.ClientBase,
  member: string,
): Promise<{ member: boolean; admin: boolean }> {
  const { rows } = await client.query<{ admin: boolean }>(
    `SELECT bool_or(m.admin_option) AS admin FROM pg_auth_members m
      WHERE m.roleid = to_regrole('rds_iam') AND m.member = to_regrole($1)`,
    [member],
  )
  const admin = rows[0]?.admin
  return { member: admin !== null && admin !== undefined, admin: admin === true }
}

/** Runs one GRANT in a savepoint; a refusal (42501) becomes BootstrapGrantRefused naming the statement. */
async function grant(client: pg.ClientBase, statement: string): Promise<void> {
  await client.query('SAVEPOINT iam_grant')
  try {
    await client.query(statement)
    await client.query('RELEASE SAVEPOINT iam_grant')
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT iam_grant')
    if ((err as { code?: string }).code === '42501') throw new BootstrapGrantRefused(statement, err)
    throw err
  }
}

/**
 * On RDS both roles log in with IAM tokens (rds_iam). The migrator also needs ADMIN OPTION on rds_iam: the
 * committed app-role migration runs `GRANT rds_iam TO blueprint_app` as the migrator, and PostgreSQL 16+ checks
 * that right even when the membership exists. Only missing grants are made, so a database whose grants an
 * operator made by hand bootstraps without the master holding that right. Elsewhere (local PostgreSQL) rds_iam
 * does not exist and this is skipped.
 */
async function grantIamLogin(client: pg.ClientBase): Promise<void> {
  const iam = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'`)
  if (!iam.rowCount) return
  if (!(await iamMembership(client, DB_APP_ROLE)).member)
    await grant(client, `GRANT rds_iam TO ${ident(DB_APP_ROLE)}`)
  if (!(await iamMembership(client, DB_MIGRATOR_ROLE)).admin)
    await grant(client, `GRANT rds_iam TO ${ident(DB_MIGRATOR_ROLE)} WITH ADMIN OPTION`)
}

// Objects of schema public owned by the connected (master) user, outside extensions, with the ALTER that hands
// each over. Column-owned sequences and indexes follow their table, so only standalone sequences are listed.
const OWNED_OBJECTS_SQL = `
WITH ext AS (SELECT objid FROM pg_depend WHERE deptype = 'e'), owned AS (
SELECT 'TABLE' AS kind, format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relowner = to_regrole(current_user) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND c.oid NOT IN (SELECT objid FROM ext)
UNION ALL
SELECT 'SEQUENCE', format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relowner = to_regrole(current_user) AND c.relkind = 'S'
   AND c.oid NOT IN (SELECT objid FROM ext)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT 'ROUTINE', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proowner = to_regrole(current_user) AND p.oid NOT IN (SELECT objid FROM ext)
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', n.nspname, t.typname)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typowner = to_regrole(current_user) AND t.typtype IN ('e', 'd', 'r')
   AND t.oid NOT IN (SELECT objid FROM ext)
UNION ALL
SELECT 'SCHEMA', 'public' FROM pg_namespace
 WHERE nspname = 'public' AND nspowner <> to_regrole('${DB_MIGRATOR_ROLE}')
)
-- The schema first: a new owner needs CREATE on an object's schema.
SELECT kind, name FROM owned ORDER BY (kind <> 'SCHEMA'), kind, name`

/**
 * Runs the bootstrap on a connected client as the master (schema owner so far), in one transaction under the
 * migration lock, so no migration runs halfway through the hand-over.
 */
export async function bootstrapRoles(client: pg.ClientBase): Promise<BootstrapResult> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    const createdRoles: string[] = []
    for (const role of [DB_MIGRATOR_ROLE, DB_APP_ROLE]) {
      if (await ensureLoginRole(client, role)) createdRoles.push(role)
    }
    await grantIamLogin(client)
    // ALTER ... OWNER TO and ALTER DEFAULT PRIVILEGES FOR ROLE need the master to be a member of the migrator
    // (RDS's master is not a superuser); it keeps that membership for break-glass work.
    await client.query(`GRANT ${ident(DB_MIGRATOR_ROLE)} TO CURRENT_USER`)
    const owned = await client.query<{ kind: string; name: string }>(OWNED_OBJECTS_SQL)
    const reassigned: string[] = []
    for (const { kind, name } of owned.rows) {
      const target = kind === 'SCHEMA' ? ident(name) : name
      await client.query(`ALTER ${kind} ${target} OWNER TO ${ident(DB_MIGRATOR_ROLE)}`)
      reassigned.push(`${kind.toLowerCase()} ${name}`)
    }
    // The app role gets rows and functions of whatever the migrator creates from now on, as the app-role
    // migration arranged for objects created by the master.
    const migrator = ident(DB_MIGRATOR_ROLE)
    const app = ident(DB_APP_ROLE)
    await client.query(`GRANT USAGE ON SCHEMA public TO ${app}`)
    for (const grant of [
      `SELECT, INSERT, UPDATE, DELETE ON TABLES`,
      `USAGE, SELECT, UPDATE ON SEQUENCES`,
      `EXECUTE ON FUNCTIONS`,
    ]) {
      await client.query(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator} IN SCHEMA public GRANT ${grant} TO ${app}`,
      )
    }
    await client.query('COMMIT')
    return { createdRoles, reassigned }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  }
}
