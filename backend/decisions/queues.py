"""The legal reviewer's work queue (issue 14, point 5): drafts waiting for legal review.

A draft waits when it is a major decision (R-LEGAL-3: it cannot issue without a passed
review of this exact version) and its current version has no review yet: every save makes
a new version with status ``draft`` (``drafts.py``), so a returned or failed draft that was
revised waits again. Scoped to the caller's agency, paged, oldest first (then by id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.rows import fetch_all
from backend.decisions.rules import REVIEW_QUEUE
from backend.decisions.tables import Decision, LegalReview
from backend.field.queue_schemas import Paging
from backend.field.queues import case_headings


class ReviewQueueItem(msgspec.Struct, kw_only=True):
    """A major draft whose current version waits for a legal review (R-LEGAL-3/4)."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("drafted_by",)
    decision_id: UUID
    version: int
    draft_sha256: str  # what the review must name (it binds to this exact version)
    case_id: UUID
    case_reference: str
    case_title: str
    item_code: str
    tier_code: str
    penalty_kinds: list[str]
    fine_total_fen: int
    deviated: bool
    major_categories: list[str]
    earlier_reviews: int  # of earlier versions (a returned draft comes back)
    drafted_by: UUID
    since: Annotated[datetime, Meta(description="when the current version was saved")]
    drafted_by_name: str | None = None
    drafted_by_role: str | None = None


class ReviewQueue(msgspec.Struct, kw_only=True):
    items: list[ReviewQueueItem]
    total: int
    limit: int
    offset: int


class _Match(msgspec.Struct, kw_only=True):
    category: str = ""


class _Waiting(msgspec.Struct, kw_only=True):
    decision_id: UUID
    version: int
    draft_sha256: str
    case_id: UUID
    item_code: str
    tier_code: str
    penalty_kinds: list[str]
    fine_total_fen: int
    deviated: bool
    major_matches: list[_Match]
    drafted_by: UUID
    since: datetime


def _waiting(principal: Principal) -> Any:
    return (Decision.agency == principal.agency_id) & (Decision.major == True) & (Decision.status == "draft")  # noqa: E712


async def drafts_waiting_for_review(*, principal: Principal, paging: Paging) -> ReviewQueue:
    authorize(agency_parts(principal), REVIEW_QUEUE)
    where = _waiting(principal)
    query = (
        Decision.select(
            Decision.id.as_alias("decision_id"),
            Decision.version,
            Decision.draft_sha256,
            Decision.case_id,
            Decision.item_code,
            Decision.tier_code,
            Decision.penalty_kinds,
            Decision.fine_total_fen,
            Decision.deviated,
            Decision.major_matches,
            Decision.created_by.as_alias("drafted_by"),
            Decision.updated_at.as_alias("since"),
        )
        .where(where)
        .order_by(Decision.updated_at, Decision.id)
        .offset(paging.offset)
        .limit(paging.limit)
    )
    rows = await fetch_all(_Waiting, query)
    headings = await case_headings(r.case_id for r in rows)
    earlier = await _review_counts([r.decision_id for r in rows])
    items = [
        ReviewQueueItem(
            decision_id=r.decision_id,
            version=r.version,
            draft_sha256=r.draft_sha256,
            case_id=r.case_id,
            case_reference=headings[r.case_id].case_reference if r.case_id in headings else "",
            case_title=headings[r.case_id].case_title if r.case_id in headings else "",
            item_code=r.item_code,
            tier_code=r.tier_code,
            penalty_kinds=r.penalty_kinds,
            fine_total_fen=r.fine_total_fen,
            deviated=r.deviated,
            major_categories=sorted({m.category for m in r.major_matches if m.category}),
            earlier_reviews=earlier.get(r.decision_id, 0),
            drafted_by=r.drafted_by,
            since=r.since,
        )
        for r in rows
    ]
    total: int = await Decision.count().where(where)
    return ReviewQueue(items=items, total=total, limit=paging.limit, offset=paging.offset)


class _Reviewed(msgspec.Struct, kw_only=True):
    decision_id: UUID


async def _review_counts(decision_ids: list[UUID]) -> dict[UUID, int]:
    if not decision_ids:
        return {}
    query = LegalReview.select(LegalReview.decision.as_alias("decision_id")).where(LegalReview.decision.is_in(decision_ids))
    counts: dict[UUID, int] = {}
    for r in await fetch_all(_Reviewed, query):
        counts[r.decision_id] = counts.get(r.decision_id, 0) + 1
    return counts
