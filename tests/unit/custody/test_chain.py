"""The server's hash rules and the standalone verifier's are the same rules."""

from __future__ import annotations

import inspect
import uuid
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from backend.ledger import chain
from evidence.custody import verify_export

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(details=st.dictionaries(st.text(max_size=10), json_values, max_size=6), seq=st.integers(1, 10**12))
def test_server_and_verifier_hash_entries_identically(details: dict[str, object], seq: int) -> None:
    body = chain.entry_body(
        chain.Entry(
            seq=seq,
            recorded_at=datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=UTC),
            event="evidence.viewed",
            actor_id=uuid.uuid4(),
            agency_id=None,
            subject_type="evidence",
            subject_id="证据-1",
            case_id=uuid.uuid4(),
            action_id=None,
            details=chain.canonical_details(details),
        )
    )
    prev = chain.body_hash({"x": seq})
    server = chain.chain_hash(prev, chain.body_hash(body))
    assert verify_export.chain_hash(prev, verify_export.body_hash(body)) == server
    line = {"seq": seq, "prev_hash": prev, "entry_hash": server, "body": body}
    assert verify_export.check_entry(line, seq, prev) is None
    line["body"] = {**body, "event": "evidence.deleted"}
    assert "entry was changed" in (verify_export.check_entry(line, seq, prev) or "")


def test_redacted_entry_still_chains() -> None:
    body_digest = chain.body_hash({"seq": 7, "secret": "other case"})
    line = {"seq": 7, "prev_hash": chain.GENESIS_HASH, "entry_hash": chain.chain_hash(chain.GENESIS_HASH, body_digest)}
    assert verify_export.check_entry({**line, "redacted": True, "body_hash": body_digest}, 7, chain.GENESIS_HASH) is None
    forged = chain.body_hash({"seq": 7, "secret": "forged"})
    assert verify_export.check_entry({**line, "redacted": True, "body_hash": forged}, 7, chain.GENESIS_HASH) is not None
    assert "expected seq 8" in (verify_export.check_entry({**line, "redacted": True, "body_hash": body_digest}, 8, None) or "")


def test_details_are_canonical_whatever_the_input_order() -> None:
    assert chain.canonical_details({"b": 1, "a": uuid.UUID(int=1)}) == '{"a":"00000000-0000-0000-0000-000000000001","b":1}'
    assert chain.format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"


@given(
    details=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    text=st.text(max_size=30),
    event=st.text(min_size=1, max_size=64),
    subject_type=st.text(min_size=1, max_size=32),
    seq=st.integers(min_value=1, max_value=2**62),
)
def test_fast_stored_hash_equals_canonical_body_hash(
    details: dict[str, object], text: str, event: str, subject_type: str, seq: int
) -> None:
    entry = chain.Entry(
        seq=seq,
        recorded_at=datetime(2026, 3, 1, 8, 30, 0, 5, tzinfo=UTC),
        event=event,
        actor_id=uuid.uuid4(),
        agency_id=None,
        subject_type=subject_type,
        subject_id=text,
        case_id=uuid.uuid4(),
        action_id=None,
        details=chain.canonical_details(details),
    )
    assert chain.stored_body_hash(entry) == chain.body_hash(chain.entry_body(entry))
    assert chain.stored_body_text(*chain.text_entry(entry)) == chain.body_text(entry)


def test_time_spelling_is_fixed_width() -> None:
    assert chain.format_time(datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC)) == "2026-01-02T03:04:05.000007Z"


def test_a_known_chain_keeps_its_hashes() -> None:
    """Hashes of entries appended before the canonical form was given one home: the format is frozen."""
    entries = [
        chain.Entry(
            seq=1,
            recorded_at=datetime(2026, 3, 1, 8, 30, 0, 0, tzinfo=UTC),
            event="case.opened",
            actor_id=uuid.UUID(int=1),
            agency_id=uuid.UUID(int=2),
            subject_type="case",
            subject_id=str(uuid.UUID(int=3)),
            case_id=uuid.UUID(int=3),
            action_id=None,
            details=chain.canonical_details(
                {"title": 'Räumung 复核 "quoted" \\ \n\u2028 🚓', "n": [1, 0.5, None, True, -0.0, 1e16]}
            ),
        ),
        chain.Entry(
            seq=2,
            recorded_at=datetime(2026, 3, 1, 16, 30, 0, 7, tzinfo=timezone(timedelta(hours=8))),
            event="evidence.received",
            actor_id=None,
            agency_id=uuid.UUID(int=2),
            subject_type="evidence",
            subject_id="e\x01\x7f",
            case_id=None,
            action_id=uuid.UUID(int=4),
            details=chain.canonical_details({"sha256": "ab" * 32, "nested": {"z": {}, "a": []}}),
        ),
        chain.Entry(
            seq=3,
            recorded_at=datetime(2026, 3, 2),
            event="ledger.verified",
            actor_id=None,
            agency_id=None,
            subject_type="ledger",
            subject_id="custody_ledger",
            case_id=None,
            action_id=None,
            details=chain.canonical_details({}),
        ),
    ]
    hashes = []
    prev = chain.GENESIS_HASH
    for entry in entries:
        stored = chain.chained(entry, prev)
        assert chain.chain_hash(prev, chain.stored_body_hash(entry)) == stored.entry_hash  # the splice agrees
        hashes.append(prev := stored.entry_hash)
    assert hashes == [
        "6f574ec2a17e22c7311a3df136e36b88592f711533c8b4f8aa0a9aedc334f781",
        "2c92dbc91bd08ec6b2609095d374d7598814c9d0462065460940b8c6a19a76c9",
        "46535c3da157ee6191c68f67cf5c0a3f208aa7b5ae7d75b9649ce3a87c4f9980",
    ]


def test_the_splice_takes_the_body_fields_in_order() -> None:
    assert tuple(inspect.signature(chain.stored_body_text).parameters) == chain.BODY_FIELDS
    assert ("id", *chain.BODY_FIELDS, "prev_hash", "entry_hash") == chain.COLUMNS
