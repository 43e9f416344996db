"""Appends on the remembered head: a stale memory never forks or gaps the chain (R-REC-7).

``append_event`` first tries to insert after the head this process appended last (one
guarded INSERT under the lock); when that head is stale — another process appended, or the
transaction that appended it rolled back — nothing is inserted and the head is read.
"""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar

from backend.core import db
from backend.ledger import service
from backend.ledger.tables import LedgerRow
from backend.ledger.verify import verify_ledger

pytestmark = pytest.mark.usefixtures("app")


async def _append(subject: str) -> int:
    entry = await service.append_event(
        event="evidence.viewed", actor_id=uuid.uuid4(), agency_id=None, subject_type="evidence", subject_id=subject
    )
    return entry.seq


class _Rollback(Exception):
    pass


async def _append_and_roll_back(subject: str) -> None:
    async with db.write_transaction():
        await _append(subject)  # remembered as the head, never committed
        raise _Rollback


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_stale_remembered_head_falls_back_to_the_stored_head(app: Litestar) -> None:
    assert [await _append(str(i)) for i in range(3)] == [1, 2, 3]
    key = id(db.current_engine())
    service._last_head[key] = (2, (await LedgerRow.select().where(LedgerRow.seq == 2).first() or {})["entry_hash"])
    assert await _append("after another process") == 4  # memory said 2: the guard refused, the head was read
    service._last_head[key] = (77, "ab" * 32)  # a head that never existed
    assert await _append("after a wrong memory") == 5
    report = await verify_ledger(record=False)
    assert (report.ok, report.entries_checked) == (True, 5), report


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7")
async def test_head_remembered_from_a_rolled_back_append_is_not_used(app: Litestar) -> None:
    await _append("kept")
    with pytest.raises(_Rollback):
        await _append_and_roll_back("rolled back")
    assert await _append("next") == 2
    rows = await LedgerRow.select(LedgerRow.seq, LedgerRow.subject_id).order_by(LedgerRow.seq)
    assert [(r["seq"], r["subject_id"]) for r in rows] == [(1, "kept"), (2, "next")]
    assert (await verify_ledger(record=False)).ok
