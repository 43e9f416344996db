"""Finding evidence by case, action, officer or time (R-REC-8), for supervisors and legal reviewers.

Scoped to the caller's agency. The time range is on the capture time (the device's clock
at capture, as stored with the record: what a reviewer means by "the recordings from 10:00
to 11:00"); the order is capture time then id, and a page ends with an opaque cursor of the
last item, so a page never repeats or skips an item while new captures arrive (they are
appended at their own capture time, never between two items already read). Listing shows
records, not content: reading bytes stays ``retrieval.py``, logged with its purpose (R-REC-7).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.errors import InvalidInput
from backend.core.rows import fetch_all
from evidence.custody.rules import SEARCH
from evidence.records import EvidenceRow, evidence_out
from evidence.schemas import EvidenceKind, EvidenceOut
from evidence.tables import EvidenceItem

SearchLimit = Annotated[int, Meta(ge=1, le=200)]


class EvidenceQuery(msgspec.Struct, frozen=True, kw_only=True):
    case_id: UUID | None = None
    action_id: UUID | None = None
    officer_id: UUID | None = None  # who captured it (the uploader)
    kind: EvidenceKind | None = None
    captured_from: datetime | None = None  # inclusive
    captured_to: datetime | None = None  # exclusive
    cursor: str | None = None
    limit: SearchLimit = 50


class EvidencePage(msgspec.Struct, kw_only=True):
    items: list[EvidenceOut]
    # Pass as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None
    limit: int


class _Position(msgspec.Struct, frozen=True, array_like=True):
    captured_at: datetime
    id: UUID


def _cursor_of(item: EvidenceOut) -> str:
    raw = msgspec.json.encode(_Position(captured_at=item.device_captured_at, id=item.id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor: str) -> _Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput("the cursor is not one this server gave", field="cursor") from None


def _where(principal: Principal, query: EvidenceQuery) -> Any:
    item = EvidenceItem
    where: Any = item.agency == principal.agency_id
    if query.case_id is not None:
        where &= item.case_id == query.case_id
    if query.action_id is not None:
        where &= item.action_id == query.action_id
    if query.officer_id is not None:
        where &= item.uploader == query.officer_id
    if query.kind is not None:
        where &= item.kind == query.kind
    if query.captured_from is not None:
        where &= item.device_captured_at >= query.captured_from
    if query.captured_to is not None:
        where &= item.device_captured_at < query.captured_to
    if query.cursor is not None:
        after = _position(query.cursor)
        where &= (item.device_captured_at > after.captured_at) | (
            (item.device_captured_at == after.captured_at) & (item.id > after.id)
        )
    return where


async def search_evidence(*, principal: Principal, query: EvidenceQuery) -> EvidencePage:
    """One page of the agency's evidence matching every filter given (R-REC-8)."""
    authorize(agency_parts(principal), SEARCH)
    if query.captured_from and query.captured_to and query.captured_to <= query.captured_from:
        raise InvalidInput("the time range ends before it starts", field="to")
    select = (
        EvidenceItem.select()
        .where(_where(principal, query))
        .order_by(EvidenceItem.device_captured_at, EvidenceItem.id)
        .limit(query.limit + 1)
    )
    rows = await fetch_all(EvidenceRow, select)
    items = [evidence_out(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return EvidencePage(items=items, next_cursor=_cursor_of(items[-1]) if more else None, limit=query.limit)
