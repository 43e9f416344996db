"""Work queues (/api/v1/queues, issue 14 point 5): what a supervisor, legal reviewer or admin
of the caller's agency must act on, each item with the ids, the case, who and since when.

Thin: each queue is one service function of the room it belongs to (``backend.field.queues``,
``backend.decisions.queues``, ``certificates.queues``), which also enforces the rule declared
here. Pages: ``limit`` and ``offset`` over a stable order (oldest first, then id), ``total``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from backend.core.access import Part, agency_parts, allows, declared, rule
from backend.core.auth import Principal
from backend.core.errors import Forbidden
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.core.settings import Settings
from backend.decisions import queues as decision_queues
from backend.decisions import rules as decision_rules
from backend.field import queues as field_queues
from backend.field import rules as field_rules
from backend.field.queue_schemas import CoverageQueue, GapReasonQueue, Paging, RecusalRequestQueue
from backend.oversight import complaint_deadlines
from backend.oversight import rules as oversight_rules
from certificates import queues as certificate_queues
from certificates import rules as certificate_rules

QUEUE = (*SIGNED_IN, *WITH_INPUT, Forbidden)
Limit = Annotated[int, Parameter(ge=1, le=200, description="items per page")]
Offset = Annotated[int, Parameter(ge=0, description="items to skip (the order is stable)")]
# Anyone signed in may ask what waits for them; each count needs that queue's own rule.
QUEUE_SUMMARY = rule("queue.summary", Part.SIGNED_IN, writes=False)


class QueueSummary(msgspec.Struct, kw_only=True):
    """How many items wait in each queue; null for a queue the caller's roles do not read."""

    gap_reasons: int | None
    recusal_requests: int | None
    coverage_incomplete: int | None
    reviews: int | None
    certificates_expiring: int | None
    # R-CMP-4: overdue complaints are alerted (supervisor, admin); due within 5 working days.
    complaints_overdue: int | None = None
    complaints_due_soon: int | None = None


class QueueController(Controller):
    path = "/api/v1/queues"
    tags = ["work queues"]

    @get(
        "/",
        summary="How many items wait in each of the caller's queues",
        responses=problems((*SIGNED_IN, *WITH_INPUT)),
        opt=declared(QUEUE_SUMMARY),
    )
    async def summary(self, principal: NamedDependency[Principal], settings: NamedDependency[Settings]) -> QueueSummary:
        parts = agency_parts(principal)
        first = Paging(limit=1)
        return QueueSummary(
            gap_reasons=(await field_queues.gap_reasons_to_approve(principal=principal, paging=first)).total
            if allows(field_rules.GAP_REASON_QUEUE, parts)
            else None,
            recusal_requests=(await field_queues.recusal_requests_to_decide(principal=principal, paging=first)).total
            if allows(field_rules.RECUSAL_QUEUE, parts)
            else None,
            coverage_incomplete=(
                await field_queues.actions_with_incomplete_coverage(principal=principal, paging=first, settings=settings)
            ).total
            if allows(field_rules.COVERAGE_QUEUE, parts)
            else None,
            reviews=(await decision_queues.drafts_waiting_for_review(principal=principal, paging=first)).total
            if allows(decision_rules.REVIEW_QUEUE, parts)
            else None,
            certificates_expiring=(await certificate_queues.certificates_expiring(principal=principal, limit=1, offset=0)).total
            if allows(certificate_rules.EXPIRING_QUEUE, parts)
            else None,
            complaints_overdue=await complaint_deadlines.count(principal=principal, which="overdue")
            if allows(oversight_rules.COMPLAINT_QUEUE, parts)
            else None,
            complaints_due_soon=await complaint_deadlines.count(principal=principal, which="due_soon")
            if allows(oversight_rules.COMPLAINT_QUEUE, parts)
            else None,
        )

    @get(
        "/gap-reasons",
        summary="Gap reasons waiting for a supervisor's approval (R-REC-4)",
        description="Not the caller's own reasons: the one who wrote a reason cannot approve it.",
        responses=problems(QUEUE),
        opt=declared(field_rules.GAP_REASON_QUEUE),
    )
    async def gap_reasons(self, principal: NamedDependency[Principal], limit: Limit = 50, offset: Offset = 0) -> GapReasonQueue:
        return await field_queues.gap_reasons_to_approve(principal=principal, paging=Paging(limit=limit, offset=offset))

    @get(
        "/recusal-requests",
        summary="Recusal requests waiting for a decision (R-RCS-4)",
        description="Not requests against the caller: no one decides a recusal request against themselves.",
        responses=problems(QUEUE),
        opt=declared(field_rules.RECUSAL_QUEUE),
    )
    async def recusal_requests(
        self, principal: NamedDependency[Principal], limit: Limit = 50, offset: Offset = 0
    ) -> RecusalRequestQueue:
        return await field_queues.recusal_requests_to_decide(principal=principal, paging=Paging(limit=limit, offset=offset))

    @get(
        "/coverage-incomplete",
        summary="Ended actions whose audio-video coverage is incomplete (R-REC-2/4)",
        description="Coverage is computed at the request; an action leaves the queue when every gap has an approved reason.",
        responses=problems(QUEUE),
        opt=declared(field_rules.COVERAGE_QUEUE),
    )
    async def coverage_incomplete(
        self,
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CoverageQueue:
        return await field_queues.actions_with_incomplete_coverage(
            principal=principal, paging=Paging(limit=limit, offset=offset), settings=settings
        )

    @get(
        "/reviews",
        summary="Major drafts whose current version waits for legal review (R-LEGAL-3/4)",
        responses=problems(QUEUE),
        opt=declared(decision_rules.REVIEW_QUEUE),
    )
    async def reviews(
        self, principal: NamedDependency[Principal], limit: Limit = 50, offset: Offset = 0
    ) -> decision_queues.ReviewQueue:
        return await decision_queues.drafts_waiting_for_review(principal=principal, paging=Paging(limit=limit, offset=offset))

    @get(
        "/certificates-expiring",
        summary="Active certificates whose validity ends within 30 days, soonest first (R-CERT-2)",
        responses=problems(QUEUE),
        opt=declared(certificate_rules.EXPIRING_QUEUE),
    )
    async def certificates_expiring(
        self, principal: NamedDependency[Principal], limit: Limit = 50, offset: Offset = 0
    ) -> certificate_queues.ExpiringQueue:
        return await certificate_queues.certificates_expiring(principal=principal, limit=limit, offset=offset)


ROUTES: list[Any] = [QueueController]
