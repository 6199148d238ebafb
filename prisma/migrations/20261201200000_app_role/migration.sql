-- The role the service connects as: rows and the ledger function, nothing else. It owns no object, so it
-- cannot DROP, ALTER or TRUNCATE; schema changes stay with the role that runs migrations (the owner).
-- Roles are cluster-wide: another database on the same server (or a concurrent migration) may have created
-- it already, so creation tolerates that. On RDS it authenticates with IAM tokens (rds_iam); elsewhere
-- (local PostgreSQL) rds_iam does not exist and the grant is skipped.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'blueprint_app') THEN
    BEGIN
      CREATE ROLE blueprint_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    GRANT rds_iam TO blueprint_app;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO blueprint_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO blueprint_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO blueprint_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO blueprint_app;

-- Objects later migrations create (as this same role) get the same grants without restating them.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO blueprint_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO blueprint_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO blueprint_app;

-- The migration history is the migrator's alone.
DO $$
BEGIN
  IF to_regclass('public._prisma_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE public._prisma_migrations FROM blueprint_app;
  END IF;
END
$$;
