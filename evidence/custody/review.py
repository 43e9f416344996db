"""Supervisor review (R-REC-8): the case timeline and the evidence-chain report.

The case timeline *is* the ledger filtered by case: check-ins with certificate snapshots,
recusals, stage changes (written by the field workflow), captures, coverage reports and
every access, in sequence order. Keyset pagination on the (case_id, seq) index keeps a
page equally fast at the first and at the ten-thousandth event.
"""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar
from uuid import UUID

import msgspec

from backend.core.auth import Principal
from backend.core.errors import InvalidInput
from backend.core.rows import fetch_all
from backend.ledger import chain
from backend.ledger.chain import StoredEntry
from backend.ledger.schemas import LedgerEntry
from backend.ledger.service import append_event
from backend.ledger.tables import LedgerRow
from evidence import records
from evidence.custody.schemas import TimelinePage
from evidence.schemas import EvidenceOut

ACCESS_EVENTS = {
    "evidence.viewed",
    "evidence.downloaded",
    "evidence.range_read",
    "evidence.link_issued",
    "evidence.exported",
    "evidence.held",
    "evidence.released",
}
CUSTODY_EVENTS = {
    "evidence.received",
    "evidence.verified",
    "evidence.attached",
    "evidence.metadata_extracted",
    "evidence.rejected",
}


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidInput("cursor must be the next_cursor of a previous page", field="cursor")
    return int(cursor)


async def _log_view(viewer: Principal, case_id: UUID, event: str) -> None:
    # Reading the audit trail is itself audited (CJIS-style; R-REC-7).
    await append_event(
        event=event,
        actor_id=viewer.user_id,
        agency_id=viewer.agency_id,
        subject_type="case",
        subject_id=str(case_id),
        case_id=case_id,
    )


async def case_timeline(*, viewer: Principal, case_id: UUID, cursor: str | None = None, limit: int = 100) -> TimelinePage:
    """One page of the case's ledger entries after ``cursor`` (oldest first).

    The caller has established that the case belongs to the viewer's agency. Opening the
    timeline (the first page) is logged.
    """
    after = parse_cursor(cursor)
    if after == 0:
        await _log_view(viewer, case_id, "custody.timeline_viewed")
    entries = await fetch_all(
        StoredEntry,
        LedgerRow.select()
        .where((LedgerRow.case_id == case_id) & (LedgerRow.seq > after))
        .order_by(LedgerRow.seq)
        .limit(limit + 1),
    )
    items = [LedgerEntry.of(entry) for entry in entries[:limit]]
    next_cursor = str(items[-1].seq) if len(entries) > limit else None
    return TimelinePage(items=items, next_cursor=next_cursor)


class ChainItem(msgspec.Struct, frozen=True, kw_only=True):
    """One evidence item's chain of custody, as a supervisor reads it."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("captured_by",)
    evidence: EvidenceOut
    captured_by: UUID
    certificate_snapshot_id: str | None
    verification: str  # "verified at reception", "re-hash ok", "re-hash FAILED", "no ledger record"
    custody: list[LedgerEntry]
    accesses: list[LedgerEntry]
    captured_by_name: str | None = None
    captured_by_role: str | None = None


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    case_id: UUID
    items: list[ChainItem]
    case_entries: int
    # Every entry of the case re-hashed locally: entry_hash = H(prev_hash ‖ H(body)).
    entries_intact: bool
    altered_entries: list[int]


def _verification(entries: list[LedgerEntry]) -> str:
    checks = [e for e in entries if e.event == "evidence.hash_checked"]
    if checks:
        return "re-hash ok" if checks[-1].details.get("ok") else "re-hash FAILED"
    if any(e.event == "evidence.verified" for e in entries):
        return "verified at reception"
    return "no ledger record"


async def evidence_chain_report(*, viewer: Principal, case_id: UUID, owner_agency_id: UUID | None = None) -> ChainReport:
    """Each item: hash, size, who captured it, when, where, certificate, verification, accesses.

    ``owner_agency_id``: the case's agency when an overseer reads it (R-SUP-2, R-AGY-6)."""
    await _log_view(viewer, case_id, "custody.report_viewed")
    items = await records.list_for_case(agency_id=owner_agency_id or viewer.agency_id, case_id=case_id)
    stored = await fetch_all(StoredEntry, LedgerRow.select().where(LedgerRow.case_id == case_id).order_by(LedgerRow.seq))
    by_subject: dict[str, list[LedgerEntry]] = defaultdict(list)
    # Every entry of the case re-hashed locally with the full rules.
    altered = [s.seq for s in stored if chain.entry_hash(s.prev_hash, s) != s.entry_hash]
    for entry in map(LedgerEntry.of, stored):
        if entry.subject_type == "evidence":
            by_subject[entry.subject_id].append(entry)
        elif entry.event == "evidence.exported":
            # A case-level export lists the items it carried: each item shows it as an access.
            for exported in entry.details.get("evidence", []):
                by_subject[str(exported.get("id"))].append(entry)
    report_items = [
        ChainItem(
            evidence=item,
            captured_by=item.uploader_id,
            certificate_snapshot_id=item.certificate_snapshot_id,
            verification=_verification(by_subject[str(item.id)]),
            custody=[e for e in by_subject[str(item.id)] if e.event in CUSTODY_EVENTS or e.event == "evidence.hash_checked"],
            accesses=[e for e in by_subject[str(item.id)] if e.event in ACCESS_EVENTS],
        )
        for item in items
    ]
    return ChainReport(
        case_id=case_id, items=report_items, case_entries=len(stored), entries_intact=not altered, altered_entries=altered
    )
