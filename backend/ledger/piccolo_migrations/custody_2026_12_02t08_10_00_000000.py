"""Only the owner may do more than SELECT and INSERT on the ledger and its checkpoints (R-REC-7).

The API connects as a role that owns nothing (docker-compose.yml, README "Production-like");
default privileges give it DML on every table the owner creates, so after the tables exist
every non-owner grant beyond SELECT and INSERT is revoked here — UPDATE, DELETE, TRUNCATE,
REFERENCES, TRIGGER, from named roles and PUBLIC alike. Not owning the tables, such a role
cannot disable or drop the append-only triggers either. Run by the owner (``fieldproof
migrate`` with ``FIELDPROOF_MIGRATE_DATABASE_URL``), the grantor of those privileges.
SQLite has no roles: nothing to do there.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-02T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "custody ledger and checkpoints: only SELECT and INSERT for roles other than the owner"

REVOKE = """
DO $$
DECLARE
    role_name text;
BEGIN
    FOR role_name IN
        SELECT DISTINCT quote_ident(pg_get_userbyid(acl.grantee))
        FROM pg_class c, aclexplode(c.relacl) acl
        WHERE c.oid IN ('custody_ledger'::regclass, 'custody_checkpoint'::regclass)
          AND acl.grantee <> c.relowner AND acl.grantee <> 0
          AND acl.privilege_type NOT IN ('SELECT', 'INSERT')
    LOOP
        EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'
             || ' ON custody_ledger, custody_checkpoint FROM ' || role_name;
    END LOOP;
    REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON custody_ledger, custody_checkpoint FROM PUBLIC;
END
$$
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="custody", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl(REVOKE)

    manager.add_raw(run)
    return manager
