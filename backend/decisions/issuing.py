"""Issuing a decision (R-DISC-7/8/9, R-LEGAL-4/6): only the exact draft, after a notice of
what it rests on was served (a new one when the draft got heavier since) and its answer
period passed or was waived, after any hearing the party asked for, with a passed legal
review when the decision is major, by an approver who did not review it; the case then
moves to service & execution. A refusal lists every missing condition at once.
"""

from __future__ import annotations

from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput
from backend.decisions import case_facts, conditions, discretion, review, schemas, separation, standards
from backend.decisions.drafts import get_decision
from backend.decisions.hearings import HearingPending, hearing_pending
from backend.decisions.notices import NoticeNotServed, NoticeOutdated, heavier_since, latest_notice
from backend.decisions.records import (
    CaseStageConflict,
    DecisionRow,
    DraftChanged,
    current_draft,
    decision_row,
    ensure_open,
    record_role,
)
from backend.decisions.rules import ISSUE
from backend.decisions.tables import Decision
from backend.field.cases import SeparationOfFunctions
from backend.ledger.service import append_case_event


class LegalReviewRequired(Conflict):
    slug = "legal-review-required"
    title = "A major decision needs a passed legal review of exactly the current draft"


class AnswerPeriodRunning(Conflict):
    slug = "answer-period-running"
    title = "The party's answer period has not passed and was not waived in writing"


class ApproverIsReviewer(Conflict):
    slug = "approver-is-reviewer"
    title = "The approver must be a different person from the legal reviewer"


async def _notice_conditions(row: DecisionRow) -> list[conditions.Missing]:
    """R-DISC-7: a notice telling the party what this draft rests on, served, the answer
    period passed or waived in writing, and any hearing the party asked for held."""
    notice = await latest_notice(row.id)
    if notice is None:
        detail = "the written notice of facts, reasons and basis has not been generated and served"
        return [conditions.of(NoticeNotServed, detail)]
    heavier = await heavier_since(row, notice)
    if heavier:
        detail = (
            f"the draft changed since the notice (version {notice.based_on_version}, now {row.version}): "
            + "; ".join(heavier)
            + ": generate and serve a new notice"
        )
        return [conditions.of(NoticeOutdated, detail, changes=heavier)]
    if notice.served_at is None:
        return [conditions.of(NoticeNotServed, "the written notice has been generated but its service is not recorded")]
    missing: list[conditions.Missing] = []
    if await hearing_pending(row.id, notice):
        missing.append(conditions.of(HearingPending, "the party asked for a hearing; record it before the decision is issued"))
    deadline = notice.answer_deadline
    if notice.waived_at is None and deadline is not None and clock.now() <= deadline:
        detail = f"the party may answer until {deadline.isoformat()}; issue after it or record a written waiver"
        missing.append(conditions.of(AnswerPeriodRunning, detail, answer_deadline=deadline))
    elif notice.waived_at is None and notice.answer_deadline_provisional:
        # Counted on weekends only (its year's holidays are not loaded), the period may end
        # later than it says: the party keeps its full period (R-DISC-7).
        detail = (
            f"the answer deadline {deadline.isoformat() if deadline else ''} is provisional until the Justice Bureau loads "
            "the holiday notice of its year; issue after that or record a written waiver"
        )
        missing.append(conditions.of(AnswerPeriodRunning, detail, answer_deadline=deadline))
    return missing


def _review_conditions(
    row: DecisionRow, reviews: list[schemas.ReviewOut], matches: list[schemas.MajorMatch]
) -> list[conditions.Missing]:
    """R-LEGAL-4: a major decision needs a passed review of exactly this draft (version + SHA-256)."""
    current = [r for r in reviews if r.current]
    latest = current[-1] if current else None
    if latest is not None and latest.outcome != "passed":
        detail = f"the legal review of this draft is '{latest.outcome}': {latest.opinion}"
        return [conditions.of(LegalReviewRequired, detail, current_sha256=row.draft_sha256)]
    if not matches or latest is not None:
        return []
    why = "; ".join(m.reason for m in matches)
    passed_before = [r for r in reviews if r.outcome == "passed"]
    if passed_before:
        old = passed_before[-1]
        detail = (
            f"this is a major decision ({why}); the passed review covered draft version {old.version} ({old.draft_sha256}), "
            f"but the draft changed since (now version {row.version}, {row.draft_sha256}): that review no longer counts"
        )
        return [conditions.of(LegalReviewRequired, detail, current_sha256=row.draft_sha256, reviewed_sha256=old.draft_sha256)]
    needed = f"a passed legal review of draft version {row.version} ({row.draft_sha256})"
    detail = f"this is a major decision ({why}); it needs {needed}"
    return [conditions.of(LegalReviewRequired, detail, current_sha256=row.draft_sha256)]


async def issue_conditions(
    *, principal: Principal, row: DecisionRow, case: case_facts.CaseFacts
) -> tuple[list[conditions.Missing], list[str]]:
    """Everything still missing before the caller may issue this draft, and the separation
    warnings an agency in ``warn`` mode records (issue 14, Found 12: all at once)."""
    missing: list[conditions.Missing] = []
    if case.stage != "review_decision":
        detail = f"case {case.reference} is in {case.stage}; decisions are issued in review_decision"
        missing.append(conditions.of(CaseStageConflict, detail))
    missing += await _notice_conditions(row)
    reviews = await review.reviews(row)
    missing += _review_conditions(row, reviews, await _major_now(row))
    if principal.user_id in {r.reviewer_id for r in reviews}:
        # R-LEGAL-6: approver and reviewer are recorded, and must be, separately.
        missing.append(conditions.of(ApproverIsReviewer, "the approver reviewed this decision; another person must approve it"))
    warnings: list[str] = []
    try:
        warnings = await separation.of_caller(principal=principal, case=case, function="decision", decision_id=row.id)
    except SeparationOfFunctions as refused:
        missing.append(conditions.caught(refused))
    missing += await case_facts.declaration_conditions(case_id=case.id, user_ids=[principal.user_id], as_what="the approver")
    return missing, warnings


def _check_disclosure(data: schemas.IssueIn) -> None:
    # R-DISC-9: results are public unless a secret or privacy reason is recorded.
    if data.disclosure == "restricted" and not (data.restriction_kind and data.restriction_reason.strip()):
        raise InvalidInput("a restricted decision needs restriction_kind and restriction_reason", field="restriction_reason")


async def issue_decision(*, principal: Principal, decision_id: UUID, data: schemas.IssueIn) -> schemas.DraftView:
    row = await decision_row(principal=principal, decision_id=decision_id, rule=ISSUE)
    ensure_open(row)
    if data.draft_sha256 != row.draft_sha256:
        raise DraftChanged(f"the draft is now version {row.version} ({row.draft_sha256})", current_sha256=row.draft_sha256)
    _check_disclosure(data)
    case = await case_facts.read(principal=principal, case_id=row.case_id)
    missing, warnings = await issue_conditions(principal=principal, row=row, case=case)
    conditions.refuse_if_any(conditions.DecisionIssueBlocked, "the decision cannot be issued", missing)
    await _issue(principal, row, data, warnings)
    return await get_decision(principal=principal, decision_id=decision_id)


async def _major_now(row: DecisionRow) -> list[schemas.MajorMatch]:
    """Stored matches plus the catalog as it stands today: a lowered threshold also counts."""
    draft = await current_draft(row)
    rules = await standards.catalog_rules(agency_id=row.agency_id)
    return row.major_matches or discretion.major_matches(rules, item_code=row.item_code, penalties=draft.penalties)


async def _issue(principal: Principal, row: DecisionRow, data: schemas.IssueIn, warnings: list[str]) -> None:
    async with write_transaction():
        with unique_as(f"decision number {data.decision_no!r} is already used", field="decision_no"):
            changed = (
                await Decision.update(
                    {
                        Decision.status: "issued",
                        Decision.decision_no: data.decision_no,
                        Decision.approver: principal.user_id,
                        Decision.issued_at: clock.now(),
                        Decision.disclosure: data.disclosure,
                        Decision.restriction_kind: data.restriction_kind,
                        Decision.restriction_reason: data.restriction_reason,
                    }
                )
                .where((Decision.id == row.id) & (Decision.draft_sha256 == data.draft_sha256) & (Decision.status != "issued"))
                .returning(Decision.id)
            )
        if not changed:
            raise DraftChanged("the draft changed or was issued meanwhile; reload it")
        await separation.add_warnings(row.id, row.separation_warnings, warnings)
        await record_role(row.id, principal.user_id, "approver")
        details = {
            "decision_no": data.decision_no,
            "version": row.version,
            "draft_sha256": row.draft_sha256,
            "separation_warnings": warnings,
        }
        await append_case_event(
            principal=principal,
            event="decision.issued",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=row.id,
            details=details,
        )
        await case_facts.move_to_service_and_execution(principal=principal, case_id=row.case_id, decision_no=data.decision_no)
