"""The custody ledger (R-REC-7): the one function that appends, and the readers of it.

``append_event`` is the only writer of ``custody_ledger``. Appends are serialised so the
chain never forks or gaps: on PostgreSQL by a transaction-scoped advisory lock, on
SQLite by the IMMEDIATE write transaction (the database holds the write lock from BEGIN).
Called inside a caller's ``write_transaction()``, Piccolo reuses the outer transaction,
so the entry commits or rolls back together with the caller's change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.db import is_postgres, write_transaction
from backend.core.errors import InvalidInput
from evidence.custody import chain
from evidence.custody.schemas import LedgerEntry
from evidence.custody.tables import LedgerRow

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
    """Append one event to the hash chain and return the stored entry (R-REC-7)."""
    _check_lengths(event=event, subject_type=subject_type, subject_id=subject_id)
    details_json = chain.canonical_details(details)
    async with write_transaction():
        await lock_ledger()
        head_seq, prev_hash = await ledger_head()
        # Time is taken under the lock, so recorded_at never decreases along the chain.
        recorded_at = clock.now()
        body = chain.entry_body(
            seq=head_seq + 1,
            recorded_at=recorded_at,
            event=event,
            actor_id=actor_id,
            agency_id=agency_id,
            subject_type=subject_type,
            subject_id=subject_id,
            case_id=case_id,
            action_id=action_id,
            details_json=details_json,
        )
        entry_hash = chain.chain_hash(prev_hash, chain.body_hash(body))
        await LedgerRow.insert(
            LedgerRow(
                seq=head_seq + 1,
                recorded_at=recorded_at,
                event=event,
                actor_id=actor_id,
                agency_id=agency_id,
                subject_type=subject_type,
                subject_id=subject_id,
                case_id=case_id,
                action_id=action_id,
                details=details_json,
                prev_hash=prev_hash,
                entry_hash=entry_hash,
            )
        )
    return LedgerEntry(
        seq=head_seq + 1,
        recorded_at=recorded_at,
        event=event,
        actor_id=actor_id,
        agency_id=agency_id,
        subject_type=subject_type,
        subject_id=subject_id,
        case_id=case_id,
        action_id=action_id,
        details=msgspec.json.decode(details_json),
        prev_hash=prev_hash,
        entry_hash=entry_hash,
    )


def entry_from_row(row: Mapping[str, Any]) -> LedgerEntry:
    """A stored row (as Piccolo returns it on either engine) as a LedgerEntry."""
    return LedgerEntry(
        seq=int(row["seq"]),
        recorded_at=clock.as_utc(row["recorded_at"]),
        event=str(row["event"]),
        actor_id=row["actor_id"],
        agency_id=row["agency_id"],
        subject_type=str(row["subject_type"]),
        subject_id=str(row["subject_id"]),
        case_id=row["case_id"],
        action_id=row["action_id"],
        details=msgspec.json.decode(row["details"]),
        prev_hash=str(row["prev_hash"]),
        entry_hash=str(row["entry_hash"]),
    )
