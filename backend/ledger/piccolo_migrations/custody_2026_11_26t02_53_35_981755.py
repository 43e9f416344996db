"""Append-only ledger enforced by the database itself (R-REC-7), and the timeline index.

PostgreSQL: a row trigger refuses UPDATE and DELETE (TRUNCATE is refused by the statement
triggers of custody_2026_12_02t07_55_00_000000). SQLite: the same refusal with RAISE(ABORT).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-26T02:53:35:981755"
VERSION = "1.38.0"
DESCRIPTION = "custody ledger: append-only triggers, (case_id, seq) index"

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION custody_ledger_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'custody ledger is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER custody_ledger_append_only BEFORE UPDATE OR DELETE ON custody_ledger
    FOR EACH ROW EXECUTE FUNCTION custody_ledger_refuse_change()
    """,
    "CREATE INDEX custody_ledger_case_seq ON custody_ledger (case_id, seq)",
]

SQLITE = [
    """
    CREATE TRIGGER custody_ledger_no_update BEFORE UPDATE ON custody_ledger
    BEGIN SELECT RAISE(ABORT, 'custody ledger is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER custody_ledger_no_delete BEFORE DELETE ON custody_ledger
    BEGIN SELECT RAISE(ABORT, 'custody ledger is append-only: DELETE refused'); END
    """,
    "CREATE INDEX custody_ledger_case_seq ON custody_ledger (case_id, seq)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="custody", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in POSTGRES if isinstance(engine, PostgresEngine) else SQLITE:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
