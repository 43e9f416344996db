"""Stored major-decision catalog entries move to a threshold per penalty kind (R-LEGAL-3).

The old columns are put back for the test, old-shape entries written, the migration's data
step run on the real database, and the columns dropped again (the worker's database is
reused by later tests).
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest

from backend.core import clock
from backend.decisions import discretion, schemas, standards
from backend.decisions.tables import MajorCatalogEntry
from tests import factories as make

MIGRATION = importlib.import_module("backend.decisions.piccolo_migrations.decisions_2026_12_02t09_34_06_587594")
YUAN = 100

pytestmark = pytest.mark.both_engines


async def _old_entry(
    agency_id: Any, user_id: Any, category: str, threshold: int | None, kinds: list[str], items: list[str]
) -> None:
    await MIGRATION.MajorCatalogEntry.insert(
        MIGRATION.MajorCatalogEntry(
            id=uuid.uuid4(), agency=agency_id, category=category, threshold_fen=threshold, penalty_kinds=kinds,
            penalties=[], item_codes=items, created_by=user_id, created_at=clock.now(),
        )
    )  # fmt: skip


@pytest.mark.requirement("R-LEGAL-3")
@pytest.mark.usefixtures("database")
async def test_stored_entries_get_a_threshold_per_kind_and_keep_their_items(engine_kind: str) -> None:
    admin = await make.person(roles=["admin"])
    MIGRATION.MajorCatalogEntry._meta._db = MajorCatalogEntry._meta.db
    agency_id, user_id = admin.user.agency_id, admin.user.id
    for column, kind in (("threshold_fen", "BIGINT"), ("penalty_kinds", "JSON")):
        await MajorCatalogEntry.raw(f"ALTER TABLE dec_major_catalog_entry ADD COLUMN {column} {kind}")
    try:
        # The entry of Found 10: a threshold that also listed 'fine' (every fine matched).
        await _old_entry(agency_id, user_id, "large_fine", 100_000 * YUAN, ["fine"], [])
        # Items and a kind: matched either before, so it becomes two entries.
        await _old_entry(agency_id, user_id, "other", None, ["licence_suspension", "fine"], ["food-unsafe-sale"])
        await MIGRATION.move_entries(MajorCatalogEntry._meta.db)
    finally:
        for column in ("threshold_fen", "penalty_kinds"):
            await MajorCatalogEntry.raw(f"ALTER TABLE dec_major_catalog_entry DROP COLUMN {column}")
    entries = await standards.list_catalog(agency_id=agency_id)
    shapes = sorted(([(p.kind, p.threshold_fen) for p in e.penalties], e.item_codes) for e in entries)
    assert shapes == [
        ([], ["food-unsafe-sale"]),
        ([("fine", 100_000 * YUAN)], []),
        ([("licence_suspension", None), ("fine", 0)], []),
    ]
    large_fines = [r for r in await standards.catalog_rules(agency_id=agency_id) if r.category == "large_fine"]
    small_fine = [schemas.PenaltyIn(kind="fine", amount_fen=5_000 * YUAN)]
    large_fine = [schemas.PenaltyIn(kind="fine", amount_fen=150_000 * YUAN)]
    assert not discretion.major_matches(large_fines, item_code="x", penalties=small_fine)
    assert discretion.major_matches(large_fines, item_code="x", penalties=large_fine)
