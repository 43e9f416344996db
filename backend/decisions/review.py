"""Legal review of a decision (R-LEGAL-1/2/4/5, R-RCS-3/5): one review binds to one exact
draft version by SHA-256 and is never changed; the reviewer's bundle shows draft, tier and
justification, notice, reviews, discussions, roles and declarations in one view.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.rows import fetch_all, fetch_one
from backend.decisions import bundle, case_facts, conditions, discussions, drafts, reviewers, schemas, separation
from backend.decisions.notices import heavier_since, latest_notice
from backend.decisions.records import DecisionRow, DraftChanged, decision_row, ensure_open, record_role
from backend.decisions.rules import READ, REVIEW, REVIEW_BUNDLE
from backend.decisions.tables import Decision, DecisionRole, LegalReview
from backend.field.cases import SeparationOfFunctions
from backend.ledger.service import append_case_event

_STATUS_AFTER_REVIEW = {"passed": "review_passed", "not_passed": "review_failed", "returned": "returned"}
_REVIEW_COLUMNS = (
    LegalReview.id,
    LegalReview.decision.as_alias("decision_id"),
    LegalReview.version,
    LegalReview.draft_sha256,
    LegalReview.reviewer.as_alias("reviewer_id"),
    LegalReview.outcome,
    LegalReview.opinion,
    LegalReview.reviewed_at,
)


class _Review(msgspec.Struct, kw_only=True):
    """A stored review; whether it is current depends on the decision's draft now."""

    id: UUID
    decision_id: UUID
    version: int
    draft_sha256: str
    reviewer_id: UUID
    outcome: str
    opinion: str
    reviewed_at: datetime

    def out(self, decision: DecisionRow) -> schemas.ReviewOut:
        current = self.version == decision.version and self.draft_sha256 == decision.draft_sha256
        return schemas.ReviewOut(**msgspec.structs.asdict(self), current=current)


class _Role(msgspec.Struct, kw_only=True):
    user: UUID
    role: str
    assigned_at: datetime


async def reviews(decision: DecisionRow) -> list[schemas.ReviewOut]:
    query = LegalReview.select(*_REVIEW_COLUMNS).where(LegalReview.decision == decision.id).order_by(LegalReview.reviewed_at)
    return [r.out(decision) for r in await fetch_all(_Review, query)]


async def list_reviews(*, principal: Principal, decision_id: UUID) -> list[schemas.ReviewOut]:
    return await reviews(await decision_row(principal=principal, decision_id=decision_id, rule=READ))


async def review_conditions(
    *, principal: Principal, row: DecisionRow, case: case_facts.CaseFacts, outcome: str
) -> tuple[list[conditions.Missing], list[str]]:
    """Everything missing before the caller's review may be recorded (all at once), and the
    separation warnings an agency in ``warn`` mode records."""
    missing: list[conditions.Missing] = []
    warnings: list[str] = []
    try:
        warnings = await separation.of_caller(principal=principal, case=case, function="review", decision_id=row.id)
    except SeparationOfFunctions as refused:
        missing.append(conditions.caught(refused))
    # R-RCS-3: the reviewer declares too.
    reviewer = [principal.user_id]
    missing += await case_facts.declaration_conditions(case_id=case.id, user_ids=reviewer, as_what="the legal reviewer")
    if outcome == "passed":
        # R-RCS-5: no pass while a handler or discussion member lacks a declaration or is blocked.
        members = (case.handler_ids | await discussions.member_ids(row.id)) - {principal.user_id}
        missing += await case_facts.declaration_conditions(
            case_id=case.id, user_ids=members, as_what="the case handlers and discussion members"
        )
    return missing, warnings


async def review_decision(*, principal: Principal, decision_id: UUID, data: schemas.ReviewIn) -> schemas.ReviewOut:
    """Record one review of exactly the draft version the reviewer saw; never changed afterwards."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=REVIEW)
    await reviewers.ensure_may_review(principal=principal)
    ensure_open(row)
    if data.draft_sha256 != row.draft_sha256:
        raise DraftChanged(
            f"the draft is now version {row.version} ({row.draft_sha256}); review that version",
            current_sha256=row.draft_sha256,
        )
    case = await case_facts.read(principal=principal, case_id=row.case_id)
    missing, warnings = await review_conditions(principal=principal, row=row, case=case, outcome=data.outcome)
    conditions.refuse_if_any(conditions.DecisionReviewBlocked, "the legal review cannot be recorded", missing)
    review_id = uuid.uuid4()
    async with write_transaction():
        await LegalReview.insert(
            LegalReview(
                id=review_id, decision=decision_id, version=row.version, draft_sha256=row.draft_sha256,
                reviewer=principal.user_id, outcome=data.outcome, opinion=data.opinion, reviewed_at=clock.now(),
            )
        )  # fmt: skip
        await Decision.update({Decision.status: _STATUS_AFTER_REVIEW[data.outcome]}).where(
            (Decision.id == decision_id) & (Decision.draft_sha256 == row.draft_sha256)
        )
        await separation.add_warnings(decision_id, row.separation_warnings, warnings)
        await record_role(decision_id, principal.user_id, "reviewer")
        details = {
            "review_id": str(review_id),
            "outcome": data.outcome,
            "version": row.version,
            "draft_sha256": row.draft_sha256,
        }
        await append_case_event(
            principal=principal,
            event="decision.reviewed",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    stored = await fetch_one(_Review, LegalReview.select(*_REVIEW_COLUMNS).where(LegalReview.id == review_id))
    assert stored is not None
    return stored.out(row)


async def review_bundle(*, principal: Principal, decision_id: UUID) -> schemas.ReviewBundle:
    """R-LEGAL-5: draft, tier and justification, notice, reviews, declarations, evidence with
    hash status and the actions' audio-video coverage, in one view."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=REVIEW_BUNDLE)
    view = await drafts.get_decision(principal=principal, decision_id=decision_id)
    case = await case_facts.read(principal=principal, case_id=row.case_id)
    notice = await latest_notice(decision_id)
    outdated_by = await heavier_since(row, notice) if notice is not None else []
    query = DecisionRole.select().where(DecisionRole.decision == decision_id).order_by(DecisionRole.assigned_at)
    roles = await fetch_all(_Role, query)
    # R-RCS-5: declarations of everyone who handled, discussed, reviewed or approved it.
    people = case.handler_ids | {r.user for r in roles}
    declarations = {str(u): (await case_facts.recusal_problem(case_id=case.id, user_id=u)) or "declared" for u in sorted(people)}
    return schemas.ReviewBundle(
        decision=view.decision,
        notice=notice,
        notice_outdated_by=outdated_by,
        reviews=await reviews(row),
        comparable=view.comparable,
        discussions=await discussions.discussions(decision_id),
        roles=[schemas.DecisionRoleOut(user_id=r.user, role=r.role, assigned_at=r.assigned_at) for r in roles],
        declarations=[schemas.DeclarationState(user_id=UUID(u), state=state) for u, state in declarations.items()],
        case={"id": str(case.id), "reference": case.reference, "stage": case.stage, "declarations": declarations},
        evidence=await bundle.evidence_hash_statuses(case_id=case.id),
        coverage=await bundle.action_coverage(case_id=case.id),
    )
