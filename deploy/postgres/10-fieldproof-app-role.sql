-- The API's database role (R-REC-7): it owns nothing, so it can neither change the schema nor
-- switch off the ledger's append-only triggers, and it may only SELECT and INSERT the ledger.
--
-- Run as the schema owner (the role in FIELDPROOF_MIGRATE_DATABASE_URL), in the application's
-- database. docker-compose.yml mounts this folder into /docker-entrypoint-initdb.d, so a new
-- PostgreSQL volume gets it before the first `fieldproof migrate`; on an existing database run
-- it once by hand:  psql "$FIELDPROOF_MIGRATE_DATABASE_URL" -f 10-fieldproof-app-role.sql
-- It is idempotent. Change the password (and FIELDPROOF_DATABASE_URL with it) before real use.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fieldproof_app') THEN
        CREATE ROLE fieldproof_app LOGIN PASSWORD 'fieldproof-app-change-me'
            NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO fieldproof_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO fieldproof_app;

-- Tables the owner creates from now on (every `fieldproof migrate`), and those already there.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fieldproof_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO fieldproof_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fieldproof_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO fieldproof_app;

-- The ledger and its checkpoints: SELECT and INSERT only. The custody migration of
-- 2026-12-02T08:10 does the same for every non-owner role once the tables exist; this covers
-- a database migrated before the role was made.
DO $$
BEGIN
    IF to_regclass('custody_ledger') IS NOT NULL THEN
        REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON custody_ledger, custody_checkpoint FROM fieldproof_app;
    END IF;
    -- The migration history is the owner's alone.
    IF to_regclass('migration') IS NOT NULL THEN
        REVOKE ALL ON migration FROM fieldproof_app;
    END IF;
END
$$;
