"""Major-decision catalog entries: one threshold per penalty kind (R-LEGAL-3).

Before, an entry held one ``threshold_fen`` and a list of ``penalty_kinds`` matched by an
OR: an entry "large fine ≥ ¥100,000" that also listed ``fine`` made every fine major. Each
stored entry becomes ``penalties`` — every kind it named (and the category's own amount
kinds), an amount kind with the entry's threshold (0, i.e. any amount, where the entry had
none, as it matched before) and a kind without amount with none. ``item_codes`` now narrows
an entry to those violation items; an old entry that listed items *and* penalties matched
either, so it is split in two entries (the items one added) to keep that meaning. Runs
before the old columns are dropped (the raw step runs first in a migration).
"""

import uuid
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSON, UUID, BigInt, Boolean, Text, Timestamptz, Varchar
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-02T09:34:06:587594"
VERSION = "1.38.0"
DESCRIPTION = "major-decision catalog: stored entries moved to a threshold per penalty kind"

AMOUNT_KINDS = ("fine", "confiscate_gains", "confiscate_property")
CATEGORY_KINDS = {"large_fine": ("fine",), "large_confiscation": ("confiscate_gains", "confiscate_property")}


class MajorCatalogEntry(Table, tablename="dec_major_catalog_entry"):
    """The table as it stands between the two catalog migrations."""

    id = UUID(primary_key=True)
    agency = UUID()
    category = Varchar(length=40)
    threshold_fen = BigInt(null=True, default=None)
    penalty_kinds = JSON(default=[])
    penalties = JSON(default=[])
    item_codes = JSON(default=[])
    description = Text(default="")
    legal_basis = Text(default="")
    active = Boolean(default=True)
    created_by = UUID()
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


def penalties_of(category: str, threshold_fen: int | None, kinds: list[str]) -> list[dict[str, Any]]:
    listed = list(dict.fromkeys([*CATEGORY_KINDS.get(category, ()), *kinds]))
    return [
        {"kind": kind, "threshold_fen": (threshold_fen or 0) if kind in AMOUNT_KINDS else None} for kind in listed
    ]


async def move_entries(engine: Any = None) -> None:
    # Bound when run, not when imported: one process may migrate several databases.
    MajorCatalogEntry._meta._db = engine or engine_finder()
    rows = await MajorCatalogEntry.select().output(load_json=True)
    for row in rows:
        penalties = penalties_of(row["category"], row["threshold_fen"], list(row["penalty_kinds"] or []))
        items = list(row["item_codes"] or [])
        await MajorCatalogEntry.update(
            {MajorCatalogEntry.penalties: penalties, MajorCatalogEntry.item_codes: [] if penalties else items}
        ).where(MajorCatalogEntry.id == row["id"])
        if penalties and items:
            copy = {k: v for k, v in row.items() if k not in ("id", "penalties", "item_codes", "penalty_kinds")}
            await MajorCatalogEntry.insert(
                MajorCatalogEntry(id=uuid.uuid4(), penalties=[], item_codes=items, penalty_kinds=[], **copy)
            )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="decisions", description=DESCRIPTION)
    manager.add_raw(move_entries)

    manager.drop_column(
        table_class_name="MajorCatalogEntry",
        tablename="dec_major_catalog_entry",
        column_name="penalty_kinds",
        db_column_name="penalty_kinds",
        schema=None,
    )

    manager.drop_column(
        table_class_name="MajorCatalogEntry",
        tablename="dec_major_catalog_entry",
        column_name="threshold_fen",
        db_column_name="threshold_fen",
        schema=None,
    )

    return manager
