"""The custody ledger on real databases: one intact chain, refusal of changes, verification."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from litestar import Litestar

from backend.core import db
from backend.core.keys import KeyRing
from backend.ledger import service
from backend.ledger.checkpoint import make_checkpoint
from backend.ledger.schemas import LedgerEntry
from backend.ledger.tables import LedgerRow
from backend.ledger.verify import verify_ledger

from .conftest import tamper_ledger

pytestmark = pytest.mark.usefixtures("app")


async def _append(n: int = 1, **fields: Any) -> list[LedgerEntry]:
    entries = []
    for i in range(n):
        entries.append(
            await service.append_event(
                event=fields.get("event", "evidence.viewed"),
                actor_id=fields.get("actor_id", uuid.uuid4()),
                agency_id=fields.get("agency_id", uuid.uuid4()),
                subject_type="evidence",
                subject_id=str(uuid.uuid4()),
                case_id=fields.get("case_id"),
                details={"i": i, "purpose": "复核 review", "lat": 35.617, "when": fields.get("when")},
            )
        )
    return entries


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_entries_chain_from_genesis_and_store_what_was_hashed(app: Litestar) -> None:
    first, second = await _append(2)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.entry_hash
    assert first.details["purpose"] == "复核 review"
    rows = await LedgerRow.select().order_by(LedgerRow.seq)
    assert [r["entry_hash"] for r in rows] == [first.entry_hash, second.entry_hash]
    report = await verify_ledger(record=False)
    assert report.ok, report
    assert (report.entries_checked, report.head_seq, report.head_hash) == (2, 2, second.entry_hash)


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_eight_concurrent_writers_make_one_gap_free_chain(app: Litestar) -> None:
    # 8 × 50 appends: the writers contend for the head from their first append on; 500 each
    # only repeated the same races (for 20 s on SQLite).
    async def writer() -> list[int]:
        return [entry.seq for entry in await _append(50)]

    # A pool like production (one connection per transaction otherwise dominates the time).
    engine = db.current_engine()
    await db.start_pool(engine, max_size=8)
    try:
        results = await asyncio.gather(*(writer() for _ in range(8)))
    finally:
        await db.close_pool(engine)
    seqs = sorted(seq for batch in results for seq in batch)
    assert seqs == list(range(1, 401))
    report = await verify_ledger(record=False)
    assert report.ok, report
    assert report.entries_checked == 400


@pytest.mark.both_engines
async def test_append_inside_callers_transaction_commits_and_rolls_back_with_it(app: Litestar) -> None:
    async with db.write_transaction():
        await _append(1)
        await _append(1)

    async def failing_caller() -> None:
        async with db.write_transaction():
            await _append(1)
            raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError, match="caller failed"):
        await failing_caller()
    assert [r["seq"] for r in await LedgerRow.select(LedgerRow.seq).order_by(LedgerRow.seq)] == [1, 2]
    await _append(1)
    assert (await verify_ledger(record=False)).ok


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_database_refuses_update_and_delete_of_ledger_rows(app: Litestar) -> None:
    await _append(2)
    with pytest.raises(Exception, match="append-only"):
        await LedgerRow.update({LedgerRow.event: "evidence.deleted"}).where(LedgerRow.seq == 1)
    with pytest.raises(Exception, match="append-only"):
        await LedgerRow.delete().where(LedgerRow.seq == 2)
    assert await LedgerRow.count() == 2


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7", "R-REC-8")
async def test_tampered_entry_is_reported_with_its_sequence(app: Litestar) -> None:
    await _append(5)
    await tamper_ledger("UPDATE custody_ledger SET details = {} WHERE seq = 3", '{"i":2,"purpose":"nothing to see"}')
    report = await verify_ledger(record=False)
    assert not report.ok
    assert report.first_broken is not None
    assert report.first_broken.seq == 3
    assert "content changed" in report.first_broken.reason


@pytest.mark.both_engines
async def test_removed_entry_is_reported_as_gap(app: Litestar) -> None:
    await _append(4)
    await tamper_ledger("DELETE FROM custody_ledger WHERE seq = 2")
    report = await verify_ledger(record=False)
    assert report.first_broken is not None
    assert report.first_broken.seq == 3
    assert "sequence gap" in report.first_broken.reason


@pytest.mark.both_engines
async def test_checkpoint_signs_head_and_detects_truncated_tail(app: Litestar, key_ring: KeyRing) -> None:
    await _append(3)
    checkpoint = await make_checkpoint(keys=key_ring)
    head_seq, head_hash = await service.ledger_head()
    assert (checkpoint.seq, checkpoint.head_hash, checkpoint.key_id) == (head_seq, head_hash, key_ring.kid)
    assert await make_checkpoint(keys=key_ring) == checkpoint  # nothing appended: same checkpoint
    assert (await verify_ledger(keys=key_ring, record=False)).ok
    await tamper_ledger("DELETE FROM custody_ledger WHERE seq = 3")
    report = await verify_ledger(keys=key_ring, record=False)
    assert not report.ok
    assert report.first_broken is None
    assert report.checkpoint_problems == ["checkpoint at seq 3: the ledger has no entry 3 (entries removed)"]


@pytest.mark.both_engines
async def test_verification_run_is_itself_recorded(app: Litestar) -> None:
    await _append(2)
    report = await verify_ledger()
    assert report.ok
    last = await LedgerRow.select().order_by(LedgerRow.seq, ascending=False).first()
    assert last is not None
    assert last["event"] == "ledger.verified"
    assert (await verify_ledger(record=False)).entries_checked == 3
