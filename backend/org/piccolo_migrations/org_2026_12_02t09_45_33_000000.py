"""Existing entrustments: the action kinds their letter's wording allows (R-AGY-5).

Before this, an entrustment's authority was free text nobody checked. Each stored wording is
read once for the acts it names; a wording naming none allows nothing (an admin records the
kinds anew), never everything. The wording itself stays in ``authority``.
"""

import json
import uuid

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T09:45:33:000000"
VERSION = "1.38.0"
DESCRIPTION = "entrustments: action kinds read from the stored authority wording"

# What a letter says → the action kind it allows (the vocabulary of backend.org.schemas.ActionKind).
WORDS = (
    ("检查", "inspection"),
    ("勘验", "inspection"),
    ("调查", "investigation"),
    ("询问", "investigation"),
    ("取证", "investigation"),
    ("查封", "seal_up"),
    ("扣押", "impound"),
    ("拆除", "forced_demolition"),
    ("送达", "service"),
)


def kinds_named(wording: str) -> list[str]:
    return sorted({kind for word, kind in WORDS if word in (wording or "")})


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="org", description=DESCRIPTION)

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None
        rows = await engine.run_ddl("SELECT id, authority FROM org_entrustment")
        for row in rows or []:
            kinds = json.dumps(kinds_named(row["authority"]))
            entrustment_id = uuid.UUID(str(row["id"]))  # parsed: only a UUID reaches the SQL text
            # Literal SQL (run_ddl takes no parameters): a parsed UUID and fixed vocabulary words.
            update = f"UPDATE org_entrustment SET action_kinds = '{kinds}' WHERE id = '{entrustment_id}'"  # noqa: S608
            await engine.run_ddl(update)

    manager.add_raw(run)
    return manager
