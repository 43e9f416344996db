"""Fast ledger verification (text rows + tight loop) gives the same verdicts as the full rules.

The fast reader (``backend.ledger.scan``) renders stored rows as text; ``verify`` hashes
them in a tight loop and only falls back to the typed row on a miss. These tests prove the
reader renders awkward entries exactly canonically on both engines (so the fast path really
is the path taken), that a miss is judged by the full rules, and that batches chain.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from litestar import Litestar

from backend.core import clock
from backend.ledger import scan, service, verify
from backend.ledger.verify import verify_ledger

from .conftest import tamper_ledger

pytestmark = pytest.mark.usefixtures("app")

# Strings whose JSON escaping differs between careless encoders: quotes, backslashes, control
# characters with and without short escapes, DEL, line/paragraph separators, non-BMP text.
AWKWARD = ["plain", 'a "quoted" \\ path', "line\nfeed\ttab\r\b\f", "\x01\x1f\x7f", "复核\u2028\u2029", "🚓 police"]


async def _append_awkward() -> None:
    for i, text in enumerate(AWKWARD):
        await service.append_event(
            event=f"evidence.{i}{text[:20]}",
            actor_id=uuid.uuid4() if i % 2 else None,
            agency_id=uuid.uuid4(),
            subject_type=text[:32] or "x",
            subject_id=text,
            case_id=uuid.uuid4() if i % 3 else None,
            action_id=uuid.uuid4() if i % 2 == 0 else None,
            details={"text": text, text: [i, 0.1 * i, None, True], "nested": {"z": 1, "a": text}},
        )
    # A time with zero microseconds is spelled without a fraction by some storages.
    with clock.frozen_clock(datetime(2026, 3, 1, 8, 30, 0, tzinfo=UTC)):
        await service.append_event(event="e", actor_id=None, agency_id=None, subject_type="t", subject_id="s")


async def _text_rows() -> list[scan.Row]:
    async with scan.ledger_batches(1000) as fetch:
        return await fetch(0)


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-8")
async def test_fast_reader_renders_awkward_entries_canonically(app: Litestar) -> None:
    await _append_awkward()
    rows = await _text_rows()
    assert len(rows) == len(AWKWARD) + 1
    # Every row chains on the fast path: the text rendering equals the canonical encoding.
    assert verify._fast_check(rows, 0, verify._Replay(set())) == len(rows)
    assert (await verify_ledger(record=False)).ok


@pytest.mark.both_engines
async def test_non_canonical_spelling_of_the_same_details_falls_back_and_verifies(app: Litestar) -> None:
    details = {"a": 1, "b": "x"}
    await service.append_event(
        event="evidence.viewed", actor_id=None, agency_id=None, subject_type="evidence", subject_id="1", details=details
    )
    await tamper_ledger("UPDATE custody_ledger SET details = {} WHERE seq = 1", '{ "b": "x", "a": 1 }')
    state = verify._Replay(set())
    assert verify._fast_check(await _text_rows(), 0, state) == 0  # the fast path misses …
    report = await verify_ledger(record=False)
    assert report.ok, report  # … and the full rules judge by meaning, as before
    assert report.entries_checked == 1


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-8")
async def test_breaks_are_found_across_batches(app: Litestar, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "BATCH", 3)  # ten entries span four batches, read ahead
    for i in range(10):
        await service.append_event(
            event="evidence.viewed", actor_id=None, agency_id=None, subject_type="evidence", subject_id=str(i)
        )
    clean = await verify_ledger(record=False)
    assert (clean.ok, clean.entries_checked, clean.head_seq) == (True, 10, 10)
    await tamper_ledger("UPDATE custody_ledger SET prev_hash = {} WHERE seq = 8", "f" * 64)
    report = await verify_ledger(record=False)
    assert report.first_broken is not None
    assert (report.first_broken.seq, report.entries_checked) == (8, 7)
    assert "prev_hash" in report.first_broken.reason


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-7", "R-REC-8")
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event", "evidence.deleted"),
        ("subject_type", "case"),
        ("subject_id", "另一件证据"),
        ("actor_id", "00000000-0000-4000-8000-000000000001"),
        ("agency_id", "00000000-0000-4000-8000-000000000002"),
        ("case_id", "00000000-0000-4000-8000-000000000003"),
        ("action_id", "00000000-0000-4000-8000-000000000004"),
    ],
)
async def test_altering_any_one_body_field_breaks_the_chain_at_that_entry(app: Litestar, column: str, value: str) -> None:
    # The reader renders the body in the database: every hashed column must reach the hash.
    for i in range(3):
        await service.append_event(
            event="evidence.viewed",
            actor_id=uuid.uuid4(),
            agency_id=uuid.uuid4(),
            subject_type="evidence",
            subject_id=str(i),
            case_id=uuid.uuid4(),
            action_id=uuid.uuid4(),
        )
    await tamper_ledger(f"UPDATE custody_ledger SET {column} = {{}} WHERE seq = 2", value)  # noqa: S608 - column from the list above
    report = await verify_ledger(record=False)
    assert report.first_broken is not None
    assert (report.ok, report.first_broken.seq, report.entries_checked) == (False, 2, 1)
    assert "content changed" in report.first_broken.reason
