"""The supervisor's work queues of the field workflow (issue 14, point 5).

- gap reasons to approve (R-REC-4): recorded, not approved, not the caller's own (the one who
  wrote a reason cannot approve it), of an action not yet closed;
- recusal requests to decide (R-RCS-4): pending, not against the caller (no one decides a
  request against themselves);
- actions whose audio-video coverage is incomplete (R-REC-2/4): ended actions that must be
  recorded end to end and cannot close yet.

Each queue is scoped to the caller's agency, paged, oldest first (then by id, so a page
boundary never moves while nothing changes). Who may read which queue is a ``Rule`` of
``backend/field/rules.py``, declared on the route (``backend/api/queues.py``) and enforced here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.rows import fetch_all
from backend.core.settings import Settings
from backend.field import gaps
from backend.field.action_schemas import ParticipantOut
from backend.field.queue_schemas import (
    CaseHeading,
    CoverageItem,
    CoverageQueue,
    GapReasonItem,
    GapReasonQueue,
    Paging,
    RecusalRequestItem,
    RecusalRequestQueue,
)
from backend.field.rules import COVERAGE_QUEUE, GAP_REASON_QUEUE, RECUSAL_QUEUE
from backend.field.tables import Action, ActionParticipant, Case, CoverageGapReason, RecusalRequest


async def case_headings(case_ids: Iterable[UUID]) -> dict[UUID, CaseHeading]:
    """Reference and title of each case, in one query (the caller has scoped the ids)."""
    wanted = sorted(set(case_ids), key=str)
    if not wanted:
        return {}
    query = Case.select(Case.id.as_alias("case_id"), Case.reference.as_alias("case_reference"), Case.title.as_alias("case_title"))
    return {h.case_id: h for h in await fetch_all(CaseHeading, query.where(Case.id.is_in(wanted)))}


# --- gap reasons to approve (R-REC-4) ----------------------------------------------------------


class _GapReasonRow(msgspec.Struct, kw_only=True):
    reason_id: UUID
    action_id: UUID
    action_kind: str
    action_title: str
    action_state: str
    case_id: UUID
    case_reference: str
    case_title: str
    gap_start: datetime
    gap_end: datetime
    reason: str
    recorded_by: UUID
    since: datetime


def _gap_reasons_waiting(principal: Principal) -> Any:
    reason = CoverageGapReason
    return (
        (reason.action.agency == principal.agency_id)
        & reason.approved_at.is_null()
        & (reason.recorded_by != principal.user_id)
        # A closed action's reasons block nothing any more (closing checked them, R-REC-4).
        & (reason.action.state != "closed")
    )


async def gap_reasons_to_approve(*, principal: Principal, paging: Paging) -> GapReasonQueue:
    authorize(agency_parts(principal), GAP_REASON_QUEUE)
    reason = CoverageGapReason
    action = reason.action
    where = _gap_reasons_waiting(principal)
    query = (
        reason.select(
            reason.id.as_alias("reason_id"),
            action.id.as_alias("action_id"),
            action.kind.as_alias("action_kind"),
            action.title.as_alias("action_title"),
            action.state.as_alias("action_state"),
            action.case.id.as_alias("case_id"),  # type: ignore[union-attr]
            action.case.reference.as_alias("case_reference"),  # type: ignore[union-attr]
            action.case.title.as_alias("case_title"),  # type: ignore[union-attr]
            reason.gap_start,
            reason.gap_end,
            reason.reason,
            reason.recorded_by,
            reason.recorded_at.as_alias("since"),
        )
        .where(where)
        .order_by(reason.recorded_at, reason.id)
        .offset(paging.offset)
        .limit(paging.limit)
    )
    rows = await fetch_all(_GapReasonRow, query)
    items = [GapReasonItem(**msgspec.structs.asdict(r), duration_s=(r.gap_end - r.gap_start).total_seconds()) for r in rows]
    total: int = await reason.count().where(where)
    return GapReasonQueue(items=items, total=total, limit=paging.limit, offset=paging.offset)


# --- recusal requests to decide (R-RCS-4) --------------------------------------------------


def _requests_waiting(principal: Principal) -> Any:
    request = RecusalRequest
    return (
        (request.case.agency == principal.agency_id) & (request.status == "pending") & (request.target_user != principal.user_id)
    )


async def recusal_requests_to_decide(*, principal: Principal, paging: Paging) -> RecusalRequestQueue:
    authorize(agency_parts(principal), RECUSAL_QUEUE)
    request = RecusalRequest
    where = _requests_waiting(principal)
    query = (
        request.select(
            request.id.as_alias("request_id"),
            request.case.id.as_alias("case_id"),
            request.case.reference.as_alias("case_reference"),
            request.case.title.as_alias("case_title"),
            request.target_user.as_alias("target_user_id"),
            request.ground,
            request.reasons,
            request.raised_by_kind,
            request.raised_by_name,
            request.recorded_by,
            request.created_at.as_alias("since"),
        )
        .where(where)
        .order_by(request.created_at, request.id)
        .offset(paging.offset)
        .limit(paging.limit)
    )
    items = await fetch_all(RecusalRequestItem, query)
    total: int = await request.count().where(where)
    return RecusalRequestQueue(items=items, total=total, limit=paging.limit, offset=paging.offset)


# --- actions whose audio-video coverage is incomplete (R-REC-2/4) -----------------------------


class _EndedAction(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    kind: str
    title: str
    state: str
    started_at: datetime | None
    ended_at: datetime


class _Participant(msgspec.Struct, kw_only=True):
    action_id: UUID
    user_id: UUID
    removed_at: datetime | None
    removed_reason: str


async def _participants(action_ids: list[UUID]) -> dict[UUID, list[ParticipantOut]]:
    if not action_ids:
        return {}
    query = ActionParticipant.select(
        ActionParticipant.action.as_alias("action_id"),
        ActionParticipant.user.as_alias("user_id"),
        ActionParticipant.removed_at,
        ActionParticipant.removed_reason,
    ).where(ActionParticipant.action.is_in(action_ids))
    found: dict[UUID, list[ParticipantOut]] = {}
    for p in await fetch_all(_Participant, query.order_by(ActionParticipant.added_at)):
        found.setdefault(p.action_id, []).append(
            ParticipantOut(user_id=p.user_id, removed=p.removed_at is not None, removed_reason=p.removed_reason)
        )
    return found


async def actions_with_incomplete_coverage(*, principal: Principal, paging: Paging, settings: Settings) -> CoverageQueue:
    """Ended mandatory-AV actions whose coverage, computed now, still has an unapproved gap.

    Coverage is computed live (the stored reports may be older than the last upload); the
    candidates are few (an action stays ended only until it is closed).
    """
    authorize(agency_parts(principal), COVERAGE_QUEUE)
    candidates = await fetch_all(
        _EndedAction,
        Action.select(
            Action.id,
            Action.case.as_alias("case_id"),
            Action.kind,
            Action.title,
            Action.state,
            Action.started_at,
            Action.ended_at,
        )
        .where((Action.agency == principal.agency_id) & (Action.requires_av == True) & (Action.state == "ended"))  # noqa: E712
        .order_by(Action.ended_at, Action.id),
    )
    waiting: list[tuple[_EndedAction, Any]] = []
    for action in candidates:
        report = await gaps.coverage_report(principal=principal, action_id=action.id, settings=settings)
        if any(not g.approved for g in report.gaps) or report.start is None:
            waiting.append((action, report))
    page = waiting[paging.offset : paging.offset + paging.limit]
    headings = await case_headings(a.case_id for a, _ in page)
    people = await _participants([a.id for a, _ in page])
    items = [
        CoverageItem(
            action_id=action.id,
            action_kind=action.kind,
            action_title=action.title,
            action_state=action.state,
            case_id=action.case_id,
            case_reference=headings[action.case_id].case_reference,
            case_title=headings[action.case_id].case_title,
            started_at=action.started_at,
            since=action.ended_at,
            gaps=len(report.gaps),
            gaps_without_reason=sum(1 for g in report.gaps if g.reason_id is None),
            reasons_to_approve=sum(1 for g in report.gaps if g.reason_id is not None and not g.approved),
            pending_segments=report.pending_segments,
            pending_uploads=report.pending_uploads,
            participants=people.get(action.id, []),
        )
        for action, report in page
    ]
    return CoverageQueue(items=items, total=len(waiting), limit=paging.limit, offset=paging.offset)
