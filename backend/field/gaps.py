"""Enforced video coverage of an action and the reasons for its gaps (R-REC-4).

The coverage itself is computed by the pure functions of ``coverage.py``; here the verified
video records become segments, gaps meet their recorded reasons, and a supervisor (not the
one who wrote a reason) approves it before the action may close (``transitions.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one, json_text
from backend.core.settings import Settings
from backend.field import action_schemas, coverage, rules
from backend.field.actions import ensure_state
from backend.field.relations import action_for
from backend.field.rows import ActionRow
from backend.field.tables import Action, CoverageGapReason, CoverageReport
from backend.ledger.service import append_case_event
from evidence import records as evidence_records
from evidence.uploads.pending import pending_for_action


class _StoredReport(msgspec.Struct, kw_only=True):
    report: action_schemas.CoverageReportOut


# Built once: the response body read straight from the row (aliases are deep copies).
_REASON_COLUMNS = (
    CoverageGapReason.id,
    CoverageGapReason.action.as_alias("action_id"),
    CoverageGapReason.gap_start,
    CoverageGapReason.gap_end,
    CoverageGapReason.reason,
    CoverageGapReason.recorded_by,
    CoverageGapReason.approved_by,
    CoverageGapReason.approved_at,
)


# --- coverage ---------------------------------------------------------------------------


def _segments(items: Sequence[Any]) -> tuple[list[coverage.Segment], int]:
    """Video records as segments on the server clock; records not yet verified are pending."""
    segments: list[coverage.Segment] = []
    pending = 0
    for item in items:
        if item.kind != "video" or item.status == "rejected":
            continue
        if item.status != "verified" or not item.duration_s:
            pending += 1
            continue
        # The media clock is the device's clock: shift it by the device's measured skew.
        start = item.media_started_at - timedelta(seconds=item.clock_skew_s or 0)
        segments.append(
            coverage.Segment(
                start=start, end=start + timedelta(seconds=item.duration_s), has_audio=item.has_audio, has_video=item.has_video
            )
        )
    return segments, pending


async def pending_uploads(*, action_id: UUID) -> int:
    """Resumable uploads still running for the action: pending, never counted as covered (R-REC-4)."""
    agency = await Action.select(Action.agency).where(Action.id == action_id).output(as_list=True)
    if not agency:
        return 0
    return await pending_for_action(agency_id=agency[0], action_id=action_id)


async def _gap_reason(where: Combinable) -> action_schemas.GapReasonOut | None:
    return await fetch_one(action_schemas.GapReasonOut, CoverageGapReason.select(*_REASON_COLUMNS).where(where))


async def _gap_reasons(action_id: UUID) -> list[action_schemas.GapReasonOut]:
    query = CoverageGapReason.select(*_REASON_COLUMNS).where(CoverageGapReason.action == action_id)
    return await fetch_all(action_schemas.GapReasonOut, query.order_by(CoverageGapReason.recorded_at))


def _gap_out(gap: coverage.Span, reasons: list[action_schemas.GapReasonOut]) -> action_schemas.GapOut:
    covering = [r for r in reasons if coverage.gap_explained(gap, [(r.gap_start, r.gap_end)])]
    approved = [r for r in covering if r.approved_at is not None]
    candidates = approved or covering
    chosen = candidates[0] if candidates else None
    return action_schemas.GapOut(
        start=gap[0],
        end=gap[1],
        duration_s=(gap[1] - gap[0]).total_seconds(),
        reason_id=chosen.id if chosen else None,
        reason=chosen.reason if chosen else "",
        approved=bool(approved),
    )


async def coverage_report(
    *, principal: Principal, action_id: UUID, settings: Settings, store: bool = False, purpose: str | None = None
) -> action_schemas.CoverageReportOut:
    found = rules.COVERAGE_STORE if store else rules.ACTION_READ
    _, action = await action_for(principal=principal, action_id=action_id, rule=found, purpose=purpose)
    items = await evidence_records.list_for_action(agency_id=action.agency_id, action_id=action_id)
    segments, pending = _segments(items)
    start = action.started_at
    end = action.ended_at or (clock.now() if start else None)
    reasons = await _gap_reasons(action_id)
    covered: list[action_schemas.Interval] = []
    gaps: list[action_schemas.GapOut] = []
    if start is not None and end is not None:
        result = coverage.video_coverage(segments=segments, start=start, end=end, tolerance_s=settings.av_gap_tolerance_s)
        covered = [action_schemas.Interval(start=s, end=e) for s, e in result.covered]
        gaps = [_gap_out(g, reasons) for g in result.gaps]
    report = action_schemas.CoverageReportOut(
        action_id=action_id,
        required=action.requires_av,
        start=start,
        end=end,
        tolerance_s=settings.av_gap_tolerance_s,
        covered=covered,
        gaps=gaps,
        pending_segments=pending,
        pending_uploads=await pending_uploads(action_id=action_id),
        complete=start is not None and all(g.approved for g in gaps),
        computed_at=clock.now(),
    )
    if store:
        await _store_report(principal, action, report)
    return report


async def _store_report(principal: Principal, action: ActionRow, report: action_schemas.CoverageReportOut) -> None:
    async with write_transaction():
        await CoverageReport.insert(
            CoverageReport(
                id=uuid.uuid4(),
                action=action.id,
                computed_at=report.computed_at,
                complete=report.complete,
                report=json_text(report),
            )
        )
        await append_case_event(
            principal=principal,
            event="coverage.report",
            case_id=action.case_id,
            action_id=action.id,
            details={"complete": report.complete, "gaps": len(report.gaps), "pending_segments": report.pending_segments},
        )


async def stored_reports(
    *, principal: Principal, action_id: UUID, purpose: str | None = None
) -> list[action_schemas.CoverageReportOut]:
    await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_READ, purpose=purpose)
    query = CoverageReport.select(CoverageReport.report).where(CoverageReport.action == action_id)
    return [r.report for r in await fetch_all(_StoredReport, query.order_by(CoverageReport.computed_at))]


# --- gap reasons ------------------------------------------------------------------------


async def record_gap_reason(
    *, principal: Principal, action_id: UUID, data: action_schemas.GapReasonIn
) -> action_schemas.GapReasonOut:
    _, action = await action_for(principal=principal, action_id=action_id, rule=rules.GAP_REASON)
    if data.gap_end <= data.gap_start:
        raise InvalidInput("gap_end must be after gap_start", field="gap_end")
    reason_id = data.id or uuid.uuid4()
    existing = await _gap_reason(CoverageGapReason.id == reason_id)
    if existing is not None:
        if existing.action_id != action_id or existing.recorded_by != principal.user_id:
            raise Conflict(f"gap reason {reason_id} belongs to another action or person", field="id")
        return existing
    ensure_state(action, {"in_progress", "ended"}, "explain a recording gap")
    async with write_transaction():
        await CoverageGapReason.insert(
            CoverageGapReason(
                id=reason_id,
                action=action_id,
                gap_start=data.gap_start,
                gap_end=data.gap_end,
                reason=data.reason,
                recorded_by=principal.user_id,
                recorded_at=clock.now(),
            )
        )
        await append_case_event(
            principal=principal,
            event="coverage.gap_reason",
            case_id=action.case_id,
            action_id=action_id,
            subject_type="gap_reason",
            subject_id=reason_id,
            details={"gap_start": data.gap_start.isoformat(), "gap_end": data.gap_end.isoformat(), "reason": data.reason},
        )
    recorded = await _gap_reason(CoverageGapReason.id == reason_id)
    assert recorded is not None
    return recorded


async def approve_gap_reason(*, principal: Principal, action_id: UUID, reason_id: UUID) -> action_schemas.GapReasonOut:
    """R-REC-4: a supervisor (not the one who wrote the reason) approves it."""
    _, action = await action_for(principal=principal, action_id=action_id, rule=rules.GAP_APPROVE)
    reason = await _gap_reason((CoverageGapReason.id == reason_id) & (CoverageGapReason.action == action_id))
    if reason is None:
        raise NotFound(f"gap reason {reason_id} not found")
    if reason.recorded_by == principal.user_id:
        raise Conflict("the person who recorded a gap reason cannot approve it")
    if reason.approved_at is None:
        async with write_transaction():
            await CoverageGapReason.update(
                {CoverageGapReason.approved_by: principal.user_id, CoverageGapReason.approved_at: clock.now()}
            ).where(CoverageGapReason.id == reason_id)
            await append_case_event(
                principal=principal,
                event="coverage.gap_approved",
                case_id=action.case_id,
                action_id=action_id,
                subject_type="gap_reason",
                subject_id=reason_id,
            )
        reason = await _gap_reason(CoverageGapReason.id == reason_id)
        assert reason is not None
    return reason


async def list_gap_reasons(
    *, principal: Principal, action_id: UUID, purpose: str | None = None
) -> list[action_schemas.GapReasonOut]:
    await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_READ, purpose=purpose)
    return await _gap_reasons(action_id)
