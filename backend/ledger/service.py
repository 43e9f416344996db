"""The custody ledger (R-REC-7): the one function that appends, and the head it appends after.

``append_event`` is the only writer of ``custody_ledger``. Appends are serialised so the
chain never forks or gaps: on PostgreSQL by a transaction-scoped advisory lock, on
SQLite by the IMMEDIATE write transaction (the database holds the write lock from BEGIN).
Called inside a caller's ``write_transaction()``, Piccolo reuses the outer transaction,
so the entry commits or rolls back together with the caller's change — callers should make
it the last statement of that transaction, because the lock is held from the append to
COMMIT and every other append waits for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import current_engine, is_postgres, write_transaction
from backend.core.errors import InvalidInput
from backend.ledger import chain
from backend.ledger.schemas import LedgerEntry
from backend.ledger.tables import LedgerRow

# Arbitrary fixed key of the PostgreSQL advisory lock that serialises ledger appends.
LEDGER_LOCK_KEY = 0x46505F4C4544  # "FP_LED"

_LIMITS = {"event": 64, "subject_type": 32, "subject_id": 128}


def _check_lengths(**fields: str) -> None:
    for name, value in fields.items():
        if not value or len(value) > _LIMITS[name]:
            raise InvalidInput(f"{name} must be 1..{_LIMITS[name]} characters", field=name)


async def lock_ledger() -> None:
    if is_postgres():
        await LedgerRow.raw("SELECT pg_advisory_xact_lock({})", LEDGER_LOCK_KEY)


async def ledger_head() -> tuple[int, str]:
    """(last sequence number, its entry hash); (0, genesis) for an empty ledger."""
    row = await LedgerRow.select(LedgerRow.seq, LedgerRow.entry_hash).order_by(LedgerRow.seq, ascending=False).first()
    if row is None:
        return 0, chain.GENESIS_HASH
    return int(row["seq"]), str(row["entry_hash"])


# The head this process appended last, per engine. Under the lock the append is first tried
# on it with one guarded INSERT (no separate head read: one round trip less while every other
# appender waits); the guard in the statement makes a stale value (another process appended,
# or our transaction rolled back) insert nothing, and the head is then read as usual.
_last_head: dict[int, tuple[int, str]] = {}

# The columns are ``chain.COLUMNS``; casts because the parameters of INSERT … SELECT get no type
# from the target columns. Only constants of this module go into the statement.
_CASTS = {
    "id": "uuid",
    "seq": "bigint",
    "recorded_at": "timestamptz",
    "event": "varchar",
    "actor_id": "uuid",
    "agency_id": "uuid",
    "subject_type": "varchar",
    "subject_id": "varchar",
    "case_id": "uuid",
    "action_id": "uuid",
    "details": "text",
    "prev_hash": "varchar",
    "entry_hash": "varchar",
}
_INSERT_IF_HEAD = (
    f"INSERT INTO custody_ledger ({', '.join(chain.COLUMNS)})"  # noqa: S608
    f" SELECT {', '.join('{}::' + _CASTS[column] for column in chain.COLUMNS)}"
    " WHERE coalesce((SELECT entry_hash FROM custody_ledger ORDER BY seq DESC LIMIT 1), {}) = {}"
    " RETURNING seq"
)


class _Event(msgspec.Struct, frozen=True, kw_only=True):
    """What the caller says happened; sequence, time and hashes are added under the lock."""

    event: str
    actor_id: UUID | None
    agency_id: UUID | None
    subject_type: str
    subject_id: str
    case_id: UUID | None
    action_id: UUID | None
    details: str  # canonical JSON text


def _chained(ev: _Event, *, seq: int, prev_hash: str) -> chain.StoredEntry:
    """The entry for ``ev`` at ``seq`` after ``prev_hash``; time is taken now (caller holds the lock,
    so recorded_at never decreases along the chain)."""
    return chain.chained(chain.Entry(seq=seq, recorded_at=clock.now(), **msgspec.structs.asdict(ev)), prev_hash)


async def _insert_at_remembered_head(ev: _Event, key: int) -> chain.StoredEntry | None:
    """PostgreSQL: insert after the remembered head if it still is the head; None otherwise."""
    remembered = _last_head.get(key)
    if remembered is None or not is_postgres():
        return None
    entry = _chained(ev, seq=remembered[0] + 1, prev_hash=remembered[1])
    values = (uuid.uuid4(), *msgspec.structs.astuple(entry))
    inserted = await LedgerRow.raw(_INSERT_IF_HEAD, *values, chain.GENESIS_HASH, entry.prev_hash)
    return entry if inserted else None


async def append_event(
    *,
    event: str,
    actor_id: UUID | None,
    agency_id: UUID | None,
    subject_type: str,
    subject_id: str,
    case_id: UUID | None = None,
    action_id: UUID | None = None,
    details: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """Append one event to the hash chain and return the stored entry (R-REC-7).

    Everything that does not depend on the head (checks, canonical details) is done before
    the lock; under it only the head, the two hashes and the INSERT remain.
    """
    _check_lengths(event=event, subject_type=subject_type, subject_id=subject_id)
    ev = _Event(
        event=event,
        actor_id=actor_id,
        agency_id=agency_id,
        subject_type=subject_type,
        subject_id=subject_id,
        case_id=case_id,
        action_id=action_id,
        details=chain.canonical_details(details),
    )
    key = id(current_engine())
    async with write_transaction():
        await lock_ledger()
        entry = await _insert_at_remembered_head(ev, key)
        if entry is None:
            head_seq, prev_hash = await ledger_head()
            entry = _chained(ev, seq=head_seq + 1, prev_hash=prev_hash)
            await LedgerRow.insert(LedgerRow(**msgspec.structs.asdict(entry)))
        _last_head[key] = (entry.seq, entry.entry_hash)
    return LedgerEntry.of(entry)


async def append_case_event(
    *,
    principal: Principal,
    event: str,
    case_id: UUID,
    action_id: UUID | None = None,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    details: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """``append_event`` for what a person did on a case: actor and agency from the principal,
    subject the action (when given) or the case unless named. The case timeline is the ledger
    filtered by ``case_id``. Call it inside the write transaction of the change it records."""
    if subject_type is None:
        subject_type, subject_id = ("action", action_id) if action_id is not None else ("case", case_id)
    return await append_event(
        event=event,
        actor_id=principal.user_id,
        agency_id=principal.agency_id,
        subject_type=subject_type,
        subject_id=str(subject_id or case_id),
        case_id=case_id,
        action_id=action_id,
        details=details,
    )
