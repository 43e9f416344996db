"""The ledger's hash rules: canonical encoding of an entry and how entries are chained.

Pure functions, no I/O. ``export_verifier.py`` (shipped inside every export package)
re-implements exactly these rules with the standard library; a unit test keeps them equal.

    body_hash  = SHA-256(canonical JSON of the entry without hashes)
    entry_hash = SHA-256(prev_hash ‖ body_hash)          (both as 32 raw bytes)

Hashing the body first, then chaining, lets an export package show entries of *other*
cases only as (seq, body_hash, entry_hash): the chain stays verifiable end to end without
disclosing another case's events to whoever holds the package.
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


def _uuid_text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def entry_body(
    *,
    seq: int,
    recorded_at: datetime,
    event: str,
    actor_id: UUID | str | None,
    agency_id: UUID | str | None,
    subject_type: str,
    subject_id: str,
    case_id: UUID | str | None,
    action_id: UUID | str | None,
    details_json: str,
) -> dict[str, Any]:
    """The hashed content of an entry, as plain JSON values."""
    return {
        "seq": seq,
        "recorded_at": format_time(recorded_at),
        "event": event,
        "actor_id": _uuid_text(actor_id),
        "agency_id": _uuid_text(agency_id),
        "subject_type": subject_type,
        "subject_id": subject_id,
        "case_id": _uuid_text(case_id),
        "action_id": _uuid_text(action_id),
        "details": json.loads(details_json),
    }


def _text(value: str) -> str:
    return encode_basestring(value)  # exactly what json.dumps(ensure_ascii=False) writes for a str


def _uuid_json(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


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
    """The canonical body of an entry spliced from its stored text (ids as text, time formatted).

    Positional and branch-light because ``verify`` calls it a million times in a row. The stored
    details are the canonical text that was hashed, so they are spliced in as they are; keys are
    written in sorted order, strings escaped exactly as ``json.dumps(ensure_ascii=False)`` does.
    """
    return (
        f'{{"action_id":{_uuid_json(action_id)},"actor_id":{_uuid_json(actor_id)},'
        f'"agency_id":{_uuid_json(agency_id)},"case_id":{_uuid_json(case_id)},'
        f'"details":{details},"event":{_text(event)},"recorded_at":"{recorded_at}",'
        f'"seq":{seq},"subject_id":{_text(subject_id)},"subject_type":{_text(subject_type)}}}'
    )


def stored_body_hash(row: Mapping[str, Any]) -> str:
    """``body_hash(entry_body(...))`` for a stored row, without re-parsing its details.

    Equal to the slow path whenever the stored details are canonical; ``verify`` falls back to
    the slow path on a mismatch, so only the meaning of an entry decides, never its spelling.
    """
    text = stored_body_text(
        int(row["seq"]),
        format_time(row["recorded_at"]),
        row["event"],
        _uuid_text(row["actor_id"]),
        _uuid_text(row["agency_id"]),
        row["subject_type"],
        row["subject_id"],
        _uuid_text(row["case_id"]),
        _uuid_text(row["action_id"]),
        row["details"],
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(body)).encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, body_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(body_digest)).hexdigest()


def checkpoint_message(*, seq: int, head_hash: str, signed_at: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_json(
        {"context": CHECKPOINT_CONTEXT, "seq": seq, "head_hash": head_hash, "signed_at": format_time(signed_at), "key_id": key_id}
    ).encode("utf-8")
