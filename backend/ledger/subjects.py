"""Which subjects the ledger holds entries about: the ledger's side of completeness (R-REC-7).

The ledger knows no domain, so it cannot tell which records *should* have entries; the
composition root does (``backend/audit.py``) and asks here what the chain holds, then
reports every record without its entries.
"""

from __future__ import annotations

from collections.abc import Collection

from backend.core.rows import fetch_all
from backend.ledger.schemas import SubjectEvent
from backend.ledger.tables import LedgerRow


async def recorded_events(*, events: Collection[str]) -> set[tuple[str, str, str]]:
    """(subject_type, subject_id, event) of every entry whose event is one of ``events``."""
    if not events:
        return set()
    query = (
        LedgerRow.select(LedgerRow.subject_type, LedgerRow.subject_id, LedgerRow.event)
        .where(LedgerRow.event.is_in(sorted(events)))
        .distinct()
    )
    return {(row.subject_type, row.subject_id, row.event) for row in await fetch_all(SubjectEvent, query)}


async def events_for_subject(*, subject_type: str, subject_id: str) -> list[str]:
    """The events recorded about one subject, in chain order."""
    query = (
        LedgerRow.select(LedgerRow.event)
        .where((LedgerRow.subject_type == subject_type) & (LedgerRow.subject_id == subject_id))
        .order_by(LedgerRow.seq)
    )
    return [str(row["event"]) for row in await query]


async def last_seq_of(*, event: str) -> int | None:
    """The sequence number of the newest entry of ``event``, if any."""
    row = await LedgerRow.select(LedgerRow.seq).where(LedgerRow.event == event).order_by(LedgerRow.seq, ascending=False).first()
    return None if row is None else int(row["seq"])
