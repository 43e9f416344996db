"""The ledger's hash rules: the one canonical form of an entry, and how entries are chained.

Pure, no I/O. ``Entry`` is what an entry's hash covers and ``StoredEntry`` a whole row of
``custody_ledger`` (read with ``backend.core.rows``); every writer and reader of the ledger
— append, verification, the case timeline, exports, the benchmark — builds an entry's body
and hash here and nowhere else.

    body_hash  = SHA-256(canonical JSON of the entry body)
    entry_hash = SHA-256(prev_hash ‖ body_hash)          (both as 32 raw bytes)

Hashing the body first, then chaining, lets an export package show entries of *other*
cases only as (seq, body_hash, entry_hash): the chain stays verifiable end to end without
disclosing another case's events to whoever holds the package. The package's own verifier,
``evidence/custody/verify_export.py``, runs without this package and so keeps a standard
library copy of these rules; ``tests/unit/custody/test_verify_export_canonical.py`` proves
the two agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

import msgspec

GENESIS_HASH = "0" * 64
CHECKPOINT_CONTEXT = "fieldproof-ledger-checkpoint-v1"


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """What an entry's hash covers, typed as stored."""

    seq: int
    recorded_at: datetime
    event: str
    actor_id: UUID | None
    agency_id: UUID | None
    subject_type: str
    subject_id: str
    case_id: UUID | None
    action_id: UUID | None
    # Canonical JSON text of the details, exactly as hashed and stored.
    details: str


class StoredEntry(Entry, frozen=True, kw_only=True):
    """A row of ``custody_ledger``: the entry and its two links in the chain."""

    prev_hash: str
    entry_hash: str


# The fields of the body, in the order ``stored_body_text`` takes them.
BODY_FIELDS: tuple[str, ...] = Entry.__struct_fields__
# The stored columns, in the order of ``StoredEntry`` after the row id (bulk and raw writers).
COLUMNS: tuple[str, ...] = ("id", *StoredEntry.__struct_fields__)

# An entry in its stored-text form, in BODY_FIELDS order: ids as text, the time as
# ``format_time`` writes it, details as the stored canonical text.
TextEntry = tuple[int, str, str, str | None, str | None, str, str, str | None, str | None, str]


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: the same bytes in any verifier."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Details as canonical JSON text; UUIDs, datetimes and Structs become strings/objects first."""
    return canonical_json(msgspec.to_builtins(dict(details or {})))


def format_time(value: datetime) -> str:
    """UTC, microsecond precision, fixed width: what both databases store exactly."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _uuid_text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def text_entry(entry: Entry) -> TextEntry:
    """The entry's body values as text: the one mapping from typed values to hashed ones."""
    return (
        entry.seq,
        format_time(entry.recorded_at),
        entry.event,
        _uuid_text(entry.actor_id),
        _uuid_text(entry.agency_id),
        entry.subject_type,
        entry.subject_id,
        _uuid_text(entry.case_id),
        _uuid_text(entry.action_id),
        entry.details,
    )


def entry_body(entry: Entry) -> dict[str, Any]:
    """The hashed content of an entry as plain JSON values (details decoded)."""
    body = dict(zip(BODY_FIELDS, text_entry(entry), strict=True))
    body["details"] = json.loads(entry.details)
    return body


def body_text(entry: Entry) -> str:
    """The canonical JSON of the entry body: the exact text ``body_hash`` covers."""
    return canonical_json(entry_body(entry))


def body_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(body)).encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, body_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(body_digest)).hexdigest()


def entry_hash(prev_hash: str, entry: Entry) -> str:
    """The hash of ``entry`` chained after ``prev_hash`` (the full rules)."""
    return chain_hash(prev_hash, body_hash(entry_body(entry)))


def chained(entry: Entry, prev_hash: str) -> StoredEntry:
    """``entry`` as the row that follows ``prev_hash`` in the chain."""
    return StoredEntry(**msgspec.structs.asdict(entry), prev_hash=prev_hash, entry_hash=entry_hash(prev_hash, entry))


# --- verification's fast path: the same body spliced from stored text ---------------------------


def _id(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


_text = encode_basestring


def stored_body_text(
    seq: int,
    recorded_at: str,
    event: str,
    actor_id: str | None,
    agency_id: str | None,
    subject_type: str,
    subject_id: str,
    case_id: str | None,
    action_id: str | None,
    details: str,
) -> str:
    """``body_text`` of an entry in its stored-text form (a ``TextEntry``, positional), spliced.

    One f-string, because that is what makes the splice cheap enough to run a million times
    in a row (a template filled by ``str.format`` costs verification 40 %). Keys are in the
    canonical (sorted) order with the canonical separators; free text is escaped exactly as
    ``json.dumps(ensure_ascii=False)`` escapes it; ids and the time are quoted as stored (their
    text never needs escaping); the details are spliced as stored. Should any of that ever
    differ from ``body_text`` — non-canonical stored details, say — the hash misses and
    verification falls back to the full rules, so only an entry's meaning decides, never this
    spelling. ``tests/unit/custody/test_chain.py`` proves it equals ``body_text``.
    """
    return (
        f'{{"action_id":{_id(action_id)},"actor_id":{_id(actor_id)},"agency_id":{_id(agency_id)},'
        f'"case_id":{_id(case_id)},"details":{details},"event":{_text(event)},"recorded_at":"{recorded_at}",'
        f'"seq":{seq},"subject_id":{_text(subject_id)},"subject_type":{_text(subject_type)}}}'
    )


def stored_body_hash(entry: Entry) -> str:
    """``body_hash(entry_body(entry))`` through the splice (stored details spliced, not re-parsed).

    Equal to the full rules whenever the stored details are canonical; verification falls
    back to ``entry_hash`` on a mismatch, so only the meaning of an entry decides, never its
    spelling.
    """
    return hashlib.sha256(stored_body_text(*text_entry(entry)).encode("utf-8")).hexdigest()


def checkpoint_message(*, seq: int, head_hash: str, signed_at: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_json(
        {"context": CHECKPOINT_CONTEXT, "seq": seq, "head_hash": head_hash, "signed_at": format_time(signed_at), "key_id": key_id}
    ).encode("utf-8")
