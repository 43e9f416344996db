"""Roles other than the owner may only SELECT and INSERT the ledger; migrations run as the owner (R-REC-7)."""

from __future__ import annotations

import importlib
import os
import sqlite3
from pathlib import Path
from unittest import mock

import pytest

from backend import cli
from backend.ledger.tables import LedgerRow

MIGRATION = importlib.import_module("backend.ledger.piccolo_migrations.custody_2026_12_02t08_10_00_000000")
LEDGER_TABLES = ("custody_ledger", "custody_checkpoint")
_GRANTS = (
    "SELECT c.relname AS table, acl.privilege_type AS privilege FROM pg_class c, aclexplode(c.relacl) acl"
    " WHERE c.oid IN ('custody_ledger'::regclass, 'custody_checkpoint'::regclass) AND acl.grantee <> c.relowner"
)


@pytest.mark.requirement("R-REC-7")
@pytest.mark.usefixtures("database")
async def test_migration_leaves_other_roles_only_select_and_insert(engine_kind: str) -> None:
    if engine_kind != "postgres":
        pytest.skip("SQLite has no roles")
    # Default privileges give the API's role every DML right on new tables; PUBLIC stands in
    # for it here (a test run creates no roles on the shared server).
    await LedgerRow.raw("GRANT ALL ON custody_ledger, custody_checkpoint TO PUBLIC")
    try:
        await LedgerRow.raw(MIGRATION.REVOKE)
        granted = {(row["table"], row["privilege"]) for row in await LedgerRow.raw(_GRANTS)}
    finally:
        await LedgerRow.raw("REVOKE ALL ON custody_ledger, custody_checkpoint FROM PUBLIC")
    assert {(table, p) for table in LEDGER_TABLES for p in ("SELECT", "INSERT")} <= granted
    assert not {p for _, p in granted} & {"UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}


def test_migrate_uses_the_owner_url(tmp_path: Path) -> None:
    app_db, owner_db = tmp_path / "app.sqlite3", tmp_path / "owner.sqlite3"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FIELDPROOF_") or k.startswith("FIELDPROOF_TEST_")}
    environment |= {
        "FIELDPROOF_DATA_DIR": str(tmp_path),
        "FIELDPROOF_LOG_LEVEL": "WARNING",
        "FIELDPROOF_DATABASE_URL": f"sqlite:///{app_db}",
        "FIELDPROOF_MIGRATE_DATABASE_URL": f"sqlite:///{owner_db}",
    }
    with mock.patch.dict(os.environ, environment, clear=True):
        assert cli.main(["migrate"]) == 0
    with sqlite3.connect(owner_db) as owner:
        tables = {name for (name,) in owner.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(LEDGER_TABLES) <= tables
    assert not app_db.exists() or app_db.stat().st_size == 0
