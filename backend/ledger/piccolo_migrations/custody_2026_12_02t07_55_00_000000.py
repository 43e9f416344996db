"""TRUNCATE refused on the ledger and its checkpoints; checkpoints append-only too (R-REC-7).

Row triggers never fire for TRUNCATE, so on PostgreSQL the owner could empty
``custody_ledger`` and ``custody_checkpoint`` in one statement and ``verify-ledger`` would
find a consistent, empty chain. A ``BEFORE TRUNCATE … FOR EACH STATEMENT`` trigger refuses
it (issue 15, point 2). Signed checkpoints get the same row refusal as entries: deleting the
checkpoints that cover a removed tail is how such a removal would be hidden.

The test suite empties tables with TRUNCATE as superuser under
``session_replication_role = replica``, where ordinary triggers do not fire
(tests/databases.py). SQLite has no TRUNCATE; there only the checkpoint row triggers apply.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-02T07:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "custody ledger and checkpoints: TRUNCATE refused, checkpoints append-only"

POSTGRES = [
    """
    CREATE TRIGGER custody_ledger_no_truncate BEFORE TRUNCATE ON custody_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION custody_ledger_refuse_change()
    """,
    """
    CREATE TRIGGER custody_checkpoint_no_truncate BEFORE TRUNCATE ON custody_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION custody_ledger_refuse_change()
    """,
    """
    CREATE TRIGGER custody_checkpoint_append_only BEFORE UPDATE OR DELETE ON custody_checkpoint
    FOR EACH ROW EXECUTE FUNCTION custody_ledger_refuse_change()
    """,
]

SQLITE = [
    """
    CREATE TRIGGER custody_checkpoint_no_update BEFORE UPDATE ON custody_checkpoint
    BEGIN SELECT RAISE(ABORT, 'custody ledger is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER custody_checkpoint_no_delete BEFORE DELETE ON custody_checkpoint
    BEGIN SELECT RAISE(ABORT, 'custody ledger is append-only: DELETE refused'); END
    """,
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="custody", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in POSTGRES if isinstance(engine, PostgresEngine) else SQLITE:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
