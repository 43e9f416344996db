"""The standalone verifier's copy of the canonical form is the ledger's, for every kind of entry.

``evidence/custody/verify_export.py`` runs in court without our package, so it keeps its own
standard-library copy of the hash rules of ``backend/ledger/chain.py``. For entries of every
event kind the code appends (collected from the source, so a new kind is covered the day it
is added), and of arbitrary kinds, with arbitrary details (unicode, nested JSON) and ids (or
None), the line an export package carries is read by the verifier to exactly the body and
hash the server chained — and a one-byte change of that body is caught.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from backend.ledger import chain
from evidence.custody import verify_export
from evidence.custody.export import ledger_line

ROOT = Path(__file__).resolve().parents[3]
# ``event="case.opened"`` / ``event=f"action.{to_state}"`` arguments, and the custody views
# ``_log_view(viewer, case_id, "custody.report_viewed")``.
_EVENT_ARGUMENT = re.compile(r'\bevent=f?"([^"]+)"|_log_view\([^()]*"([^"]+)"\)')
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def appended_event_kinds() -> list[str]:
    """Every event name the code appends, as written (f-string placeholders kept)."""
    found: set[str] = set()
    for package in ("backend", "certificates", "evidence"):
        for path in (ROOT / package).rglob("*.py"):
            for match in _EVENT_ARGUMENT.finditer(path.read_text(encoding="utf-8")):
                found.add(match.group(1) or match.group(2))
    return sorted(found)


KINDS = appended_event_kinds()


def event_names(kind: str) -> st.SearchStrategy[str]:
    """The names one kind yields: itself, or with each f-string placeholder filled in."""
    parts = _PLACEHOLDER.split(kind)
    if len(parts) == 1:
        return st.just(kind)

    def fill(values: list[str]) -> str:
        return "".join(part + value for part, value in zip(parts, [*values, ""], strict=True))

    return st.lists(st.text(max_size=24), min_size=len(parts) - 1, max_size=len(parts) - 1).map(fill)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.uuids().map(str),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)
# What callers hand to append_event: JSON values, and UUIDs/datetimes that canonical_details converts.
details = st.dictionaries(st.text(max_size=12), json_values | st.uuids() | st.datetimes(timezones=st.just(UTC)), max_size=6).map(
    chain.canonical_details
)
ids = st.none() | st.uuids()
# Aware in any offset, or naive (read as UTC).
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)) | st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]),
)
hashes = st.just(chain.GENESIS_HASH) | st.binary(min_size=32, max_size=32).map(bytes.hex)


def entries(event: st.SearchStrategy[str], case_id: st.SearchStrategy[uuid.UUID | None] = ids) -> st.SearchStrategy[chain.Entry]:
    return st.builds(
        chain.Entry,
        seq=st.integers(1, 2**62),
        recorded_at=times,
        event=event,
        actor_id=ids,
        agency_id=ids,
        subject_type=st.text(min_size=1, max_size=32),
        subject_id=st.text(min_size=1, max_size=128),
        case_id=case_id,
        action_id=ids,
        details=details,
    )


any_event = st.text(min_size=1, max_size=64)


def _read(raw: bytes) -> dict[str, Any]:
    """A ledger.jsonl line as the verifier reads it (a number past the double range is refused there)."""
    line: dict[str, Any] = verify_export.parse_json(raw, "ledger.jsonl line")
    return line


def _assert_verifier_agrees(entry: chain.Entry, prev: str) -> None:
    stored = chain.chained(entry, prev)
    assert entry.case_id is not None
    line = _read(ledger_line(stored, case_id=entry.case_id))
    assert verify_export.canonical_json(line["body"]) == chain.body_text(entry)
    assert verify_export.body_hash(line["body"]) == chain.body_hash(chain.entry_body(entry))
    assert verify_export.chain_hash(prev, verify_export.body_hash(line["body"])) == stored.entry_hash
    assert verify_export.check_entry(line, entry.seq, prev) is None


def test_the_kinds_cover_every_area_that_appends() -> None:
    assert {"case.opened", "evidence.received", "evidence.exported", "ledger.verified", "custody.timeline_viewed"} <= set(KINDS)
    assert any(kind.startswith("certificate.") for kind in KINDS)
    assert any(kind.startswith("decision.") for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=20, deadline=None)
@given(data=st.data(), prev=hashes)
def test_every_appended_kind_verifies_as_the_server_hashed_it(kind: str, data: st.DataObject, prev: str) -> None:
    _assert_verifier_agrees(data.draw(entries(event_names(kind), st.uuids())), prev)


@settings(deadline=None)
@given(entry=entries(any_event, st.uuids()), prev=hashes)
def test_any_entry_verifies_as_the_server_hashed_it(entry: chain.Entry, prev: str) -> None:
    _assert_verifier_agrees(entry, prev)


@settings(deadline=None)
@given(entry=entries(any_event), prev=hashes)
def test_another_cases_entry_chains_as_hashes_only(entry: chain.Entry, prev: str) -> None:
    stored = chain.chained(entry, prev)
    line = _read(ledger_line(stored, case_id=uuid.uuid4()))  # never this entry's case
    assert "body" not in line
    assert line["body_hash"] == chain.body_hash(chain.entry_body(entry))
    assert verify_export.check_entry(line, entry.seq, prev) is None


def _refused(line: dict[str, Any], seq: int, prev: str) -> bool:
    try:
        return verify_export.check_entry(line, seq, prev) is not None
    except ValueError:  # e.g. a float pushed past the double range: the verifier stops with an error
        return True


@settings(deadline=None)
@given(entry=entries(st.sampled_from(KINDS) | any_event, st.uuids()), prev=hashes, data=st.data())
def test_a_one_byte_change_of_the_body_is_caught(entry: chain.Entry, prev: str, data: st.DataObject) -> None:
    raw = ledger_line(chain.chained(entry, prev), case_id=entry.case_id or uuid.uuid4())
    body = chain.body_text(entry).encode("utf-8")
    start = raw.index(b'{"body":') + len(b'{"body":')
    assert raw[start : start + len(body)] == body
    index = data.draw(st.integers(start, start + len(body) - 1), label="index")
    # Mostly printable ASCII, which keeps the line JSON far more often than any byte would.
    byte = data.draw((st.integers(0x20, 0x7E) | st.integers(0, 0xFF)).filter(lambda b: b != raw[index]), label="byte")
    changed = raw[:index] + bytes([byte]) + raw[index + 1 :]
    try:
        line = _read(changed)
    except ValueError:
        event("not JSON any more")
        return  # (or not UTF-8): the verifier reports the line
    if verify_export.canonical_json(line["body"]) == body.decode("utf-8"):
        event("same meaning")
        # The same entry spelled differently (1e+16 as 1e016): its meaning, hence its hash, is unchanged.
        assert verify_export.check_entry(line, entry.seq, prev) is None
    else:
        event("changed and refused")
        assert _refused(line, entry.seq, prev)


@given(entry=entries(st.sampled_from([k for k in KINDS if "{" not in k]), st.uuids()), prev=hashes)
def test_a_changed_event_name_is_caught(entry: chain.Entry, prev: str) -> None:
    raw = ledger_line(chain.chained(entry, prev), case_id=entry.case_id or uuid.uuid4())
    index = raw.index(b'"event":"') + len(b'"event":"')
    line = _read(raw[:index] + bytes([raw[index] ^ 1]) + raw[index + 1 :])
    assert line["body"]["event"] != entry.event
    assert "entry was changed" in (verify_export.check_entry(line, entry.seq, prev) or "")


@given(value=json_values)
def test_both_canonical_encoders_write_the_same_text(value: object) -> None:
    assert verify_export.canonical_json(value) == chain.canonical_json(value)
