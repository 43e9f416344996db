"""Which table and route modules exist: the one list the app, the CLI and the migrations read.

Each domain exposes ``TABLES`` (Piccolo tables, in its ``tables.py``) and each HTTP module
``ROUTES`` (Litestar handlers). Adding a room means adding its modules here, nowhere else.
"""

from __future__ import annotations

import contextlib
import io
import os
from types import ModuleType
from typing import Any

from piccolo.table import Table

import backend.api.assignments as office_assignments
import backend.api.certificates as office_certificates
import backend.api.custody as office_custody
import backend.api.decisions as office_decisions
import backend.api.execution as office_execution
import backend.api.field as office_field
import backend.api.org as office_org
import backend.api.oversight as office_oversight
import backend.api.public as public_api
import backend.api.queues as office_queues
import backend.api.retrieval as office_retrieval
import backend.api.showing as office_showing
import backend.core.tables as core_tables
import backend.decisions.tables as decision_tables
import backend.field.tables as field_tables
import backend.ledger.tables as ledger_tables
import backend.org.tables as org_tables
import backend.oversight.tables as oversight_tables
import certificates.tables as certificate_tables
import evidence.tables as evidence_tables
import evidence.uploads.tables as upload_tables
import mobile_api.certificates as mobile_certificates
import mobile_api.evidence as mobile_evidence
import mobile_api.field as mobile_field
import mobile_api.showing as mobile_showing
import mobile_api.uploads as mobile_uploads
from backend.core import db
from backend.core.settings import Settings

TABLE_MODULES: list[ModuleType] = [
    core_tables,
    ledger_tables,
    org_tables,
    certificate_tables,
    evidence_tables,
    upload_tables,
    field_tables,
    decision_tables,
    oversight_tables,
]
ROUTE_MODULES: list[ModuleType] = [
    office_org,
    office_certificates,
    office_field,
    office_assignments,
    office_custody,
    office_decisions,
    office_execution,
    office_queues,
    office_retrieval,
    office_showing,
    office_oversight,
    public_api,
    mobile_certificates,
    mobile_field,
    mobile_showing,
    mobile_evidence,
    mobile_uploads,
]


def all_tables() -> list[type[Table]]:
    return [table for module in TABLE_MODULES for table in module.TABLES]


def all_routes() -> list[Any]:
    return [handler for module in ROUTE_MODULES for handler in module.ROUTES]


async def migrate(settings: Settings) -> None:
    """Apply every area's Piccolo migrations (the apps listed in backend/piccolo_conf.py)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    # Imported here, not at the top: the module builds an engine from the environment when
    # loaded, which only the migration machinery wants.
    import backend.piccolo_conf as piccolo_conf

    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    engine = db.make_engine(settings.effective_database_url)
    piccolo_conf.DB = engine
    Migration._meta._db = engine
    with contextlib.redirect_stdout(io.StringIO()):  # piccolo prints progress
        result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
