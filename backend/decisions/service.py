"""Decision rules: drafting under the discretion benchmark, written notice, legal review,
separation of functions and issuing (R-DISC-3..9, R-LEGAL-4..6, R-RCS-3/5, R-FAULT-3).

The agency's standing rules (benchmarks, catalog, answer periods, reviewers) live in
``standards.py`` and are re-exported here, so other areas import one module.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.decisions import cases, deadlines, discretion, schemas, standards
from backend.decisions.standards import (
    add_catalog_entry,
    answer_periods,
    create_benchmark,
    designate_reviewer,
    get_benchmark,
    list_benchmarks,
    list_catalog,
    list_reviewers,
    publish_benchmark,
    retire_catalog_entry,
    reviewer_ratio,
    revoke_reviewer,
    set_answer_period,
)
from backend.decisions.tables import (
    CollectiveDiscussion,
    Decision,
    DecisionDeclaration,
    DecisionRole,
    DecisionVersion,
    Hearing,
    LegalReview,
    WrittenNotice,
)
from backend.field.cases import SeparationOfFunctions
from backend.ledger.service import append_case_event
from backend.org import service as org_service
from backend.org.tables import User
from evidence.tables import EvidenceItem

_MATCHES = msgspec.json.Decoder(list[schemas.MajorMatch])
# The standards functions are re-exported so other areas import this one module.
__all__ = [
    "add_catalog_entry",
    "answer_periods",
    "comparable_decisions",
    "create_benchmark",
    "create_draft",
    "declare_recusal",
    "designate_reviewer",
    "generate_notice",
    "get_benchmark",
    "get_decision",
    "get_notice",
    "issue_decision",
    "list_benchmarks",
    "list_case_decisions",
    "list_catalog",
    "list_declarations",
    "list_reviewers",
    "list_reviews",
    "public_decisions",
    "publish_benchmark",
    "record_discussion",
    "record_hearing",
    "record_notice_service",
    "retire_catalog_entry",
    "review_bundle",
    "review_decision",
    "reviewer_ratio",
    "revise_draft",
    "revoke_reviewer",
    "set_answer_period",
    "waive_answer_period",
]
# Service is recorded after it happened; a time ahead of the server clock is a typing error.
_SERVICE_CLOCK_TOLERANCE = timedelta(minutes=5)


class DecisionAlreadyIssued(Conflict):
    slug = "decision-already-issued"
    title = "The decision has been issued and can no longer change"


class DraftChanged(Conflict):
    slug = "draft-changed"
    title = "The draft has changed since the version you saw"


class LegalReviewRequired(Conflict):
    slug = "legal-review-required"
    title = "A major decision needs a passed legal review of exactly the current draft"


class NoticeNotServed(Conflict):
    slug = "notice-not-served"
    title = "The written notice has not been served"


class AnswerPeriodRunning(Conflict):
    slug = "answer-period-running"
    title = "The party's answer period has not passed and was not waived in writing"


class ApproverIsReviewer(Conflict):
    slug = "approver-is-reviewer"
    title = "The approver must be a different person from the legal reviewer"


class HearingPending(Conflict):
    slug = "hearing-pending"
    title = "The party asked for a hearing that has not been held"


class CaseStageConflict(Conflict):
    slug = "case-stage-conflict"
    title = "The case is not in a stage that allows this"


# --- evaluation of a draft (R-DISC-3/4/5, R-LEGAL-3) -----------------------------------------


class _Evaluation(msgspec.Struct, kw_only=True):
    benchmark: schemas.BenchmarkOut
    proposal: schemas.Proposal
    deviation: schemas.Deviation
    matches: list[schemas.MajorMatch]

    @property
    def tier_code(self) -> str:
        return self.proposal.tier_code


def _fine_total(draft: schemas.DraftIn) -> int:
    return sum(p.amount_fen or 0 for p in draft.penalties if p.kind == "fine")


def _judge(benchmark: schemas.BenchmarkOut, draft: schemas.DraftIn) -> tuple[schemas.Proposal, schemas.Deviation]:
    item = discretion.find_item(benchmark.items, draft.item_code)
    proposal = discretion.propose(item, draft.circumstances)
    discretion.check_penalties(item, draft.penalties, proposal)
    return proposal, discretion.deviation(draft.penalties, proposal)


async def _evaluate(*, agency_id: UUID, draft: schemas.DraftIn) -> _Evaluation:
    benchmark = await standards.usable_benchmark(agency_id=agency_id, benchmark_id=draft.benchmark_id)
    proposal, found = _judge(benchmark, draft)
    # R-DISC-5: leaving the proposed tier needs a written reason (shown to the reviewer).
    discretion.require_reason(found, draft.deviation_reason)
    rules = await standards.catalog_rules(agency_id=agency_id)
    matches = discretion.major_matches(rules, item_code=draft.item_code, penalties=draft.penalties)
    return _Evaluation(benchmark=benchmark, proposal=proposal, deviation=found, matches=matches)


def _decision_columns(draft: schemas.DraftIn, evaluation: _Evaluation, sha: str) -> dict[Any, Any]:
    return {
        Decision.benchmark: draft.benchmark_id,
        Decision.item_code: draft.item_code,
        Decision.tier_code: evaluation.tier_code,
        Decision.draft_sha256: sha,
        Decision.major: bool(evaluation.matches),
        Decision.major_matches: msgspec.to_builtins(evaluation.matches),
        Decision.fine_total_fen: _fine_total(draft),
        Decision.penalty_kinds: [p.kind for p in draft.penalties],
        Decision.deviated: evaluation.deviation.deviates,
        Decision.updated_at: clock.now(),
    }


# --- reading ---------------------------------------------------------------------------------


async def _decision_row(*, principal: Principal, decision_id: UUID) -> dict[str, Any]:
    row = await Decision.select().where((Decision.id == decision_id) & (Decision.agency == principal.agency_id)).first()
    if row is None:
        raise NotFound(f"decision {decision_id} not found")
    return row


async def _current_draft(row: dict[str, Any]) -> schemas.DraftIn:
    version = (
        await DecisionVersion.select(DecisionVersion.content)
        .where((DecisionVersion.decision == row["id"]) & (DecisionVersion.version == row["version"]))
        .first()
    )
    assert version is not None
    content = version["content"]
    raw = msgspec.json.decode(content) if isinstance(content, str) else dict(content)
    raw.pop("decision_id", None)
    raw.pop("case_id", None)
    return msgspec.convert(raw, schemas.DraftIn)


async def _decision_out(row: dict[str, Any]) -> schemas.DecisionOut:
    draft = await _current_draft(row)
    benchmark = await standards.get_benchmark(agency_id=row["agency"], benchmark_id=row["benchmark"])
    proposal, found = _judge(benchmark, draft)
    matches_raw = row["major_matches"]
    matches = _MATCHES.decode(matches_raw if isinstance(matches_raw, str) else msgspec.json.encode(matches_raw))
    return schemas.DecisionOut(
        id=row["id"],
        case_id=row["case_id"],
        agency_id=row["agency"],
        status=row["status"],
        version=row["version"],
        draft_sha256=row["draft_sha256"],
        benchmark_id=row["benchmark"],
        benchmark_version=benchmark.version,
        item_code=row["item_code"],
        tier_code=row["tier_code"],
        draft=draft,
        proposal=proposal,
        deviation=found,
        major=bool(row["major"]),
        major_matches=matches,
        fine_total_fen=row["fine_total_fen"],
        decision_no=row["decision_no"],
        approver_id=row["approver"],
        issued_at=clock.as_utc(row["issued_at"]) if row["issued_at"] else None,
        separation_warnings=[str(w) for w in standards.json_list(row["separation_warnings"])],
        disclosure=row["disclosure"],
        restriction_kind=row["restriction_kind"],
        restriction_reason=row["restriction_reason"],
        created_at=clock.as_utc(row["created_at"]),
        updated_at=clock.as_utc(row["updated_at"]),
    )


async def comparable_decisions(
    *, agency_id: UUID, item_code: str, tier_code: str, exclude: UUID | None = None
) -> list[schemas.ComparableDecision]:
    """R-DISC-5 equal treatment: the agency's issued decisions for the same item and tier."""
    query = Decision.select().where(
        (Decision.agency == agency_id)
        & (Decision.item_code == item_code)
        & (Decision.tier_code == tier_code)
        & (Decision.status == "issued")
    )
    if exclude is not None:
        query = query.where(Decision.id != exclude)
    rows = await query.order_by(Decision.issued_at, ascending=False).limit(20)
    return [
        schemas.ComparableDecision(
            decision_id=r["id"],
            decision_no=r["decision_no"],
            issued_at=clock.as_utc(r["issued_at"]) if r["issued_at"] else None,
            tier_code=r["tier_code"],
            fine_total_fen=r["fine_total_fen"],
            penalty_kinds=[str(k) for k in standards.json_list(r["penalty_kinds"])],
            deviated=bool(r["deviated"]),
        )
        for r in rows
    ]


async def get_decision(*, principal: Principal, decision_id: UUID) -> schemas.DraftView:
    row = await _decision_row(principal=principal, decision_id=decision_id)
    decision = await _decision_out(row)
    comparable = await comparable_decisions(
        agency_id=row["agency"], item_code=row["item_code"], tier_code=row["tier_code"], exclude=row["id"]
    )
    return schemas.DraftView(decision=decision, comparable=comparable)


async def list_case_decisions(*, principal: Principal, case_id: UUID) -> list[schemas.DecisionOut]:
    await cases.case_facts(principal=principal, case_id=case_id)
    rows = (
        await Decision.select()
        .where((Decision.case_id == case_id) & (Decision.agency == principal.agency_id))
        .order_by(Decision.created_at)
    )
    return [await _decision_out(r) for r in rows]


# --- drafting ------------------------------------------------------------------------------


def _ensure_may_draft(principal: Principal, case: cases.CaseFacts) -> None:
    if principal.user_id not in case.handler_ids and not principal.has("supervisor"):
        raise Forbidden("only the case's handlers or a supervisor may draft its decision")
    if case.stage in ("service_execution", "archived"):
        raise CaseStageConflict(f"case {case.reference} is in {case.stage}; a decision is drafted before service & execution")


def _ensure_open(row: dict[str, Any]) -> None:
    if row["status"] == "issued":
        raise DecisionAlreadyIssued(f"decision {row['decision_no']} has been issued and is frozen")


async def _record_role(decision_id: UUID, user_id: UUID, role: str) -> None:
    """R-FAULT-3: role assignments are appended, never edited."""
    await DecisionRole.insert(
        DecisionRole(id=uuid.uuid4(), decision=decision_id, user=user_id, role=role, assigned_at=clock.now())
    )


async def create_draft(*, principal: Principal, case_id: UUID, data: schemas.DraftIn) -> schemas.DraftView:
    principal.require("officer", "supervisor")
    case = await cases.case_facts(principal=principal, case_id=case_id)
    _ensure_may_draft(principal, case)
    evaluation = await _evaluate(agency_id=principal.agency_id, draft=data)
    decision_id = uuid.uuid4()
    content = discretion.draft_content(decision_id=decision_id, case_id=case_id, draft=data)
    sha = discretion.draft_sha256(content)
    now = clock.now()
    async with write_transaction():
        pending = await Decision.count().where((Decision.case_id == case_id) & (Decision.status != "issued"))
        if pending:
            raise Conflict("the case already has a decision in progress; revise that draft", field="case_id")
        columns = {col._meta.name: value for col, value in _decision_columns(data, evaluation, sha).items()}
        await Decision.insert(
            Decision(
                id=decision_id,
                agency=principal.agency_id,
                case_id=case_id,
                version=1,
                created_by=principal.user_id,
                created_at=now,
                **columns,
            )
        )
        await _insert_version(decision_id, 1, content, sha, principal.user_id)
        await _record_role(decision_id, principal.user_id, "drafter")
        await append_case_event(
            principal=principal,
            event="decision.drafted",
            case_id=case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=_event_details(1, sha, evaluation),
        )
    return await get_decision(principal=principal, decision_id=decision_id)


async def _insert_version(decision_id: UUID, version: int, content: dict[str, Any], sha: str, user_id: UUID) -> None:
    await DecisionVersion.insert(
        DecisionVersion(
            id=uuid.uuid4(),
            decision=decision_id,
            version=version,
            content=content,
            sha256=sha,
            created_by=user_id,
            created_at=clock.now(),
        )
    )


def _event_details(version: int, sha: str, evaluation: _Evaluation) -> dict[str, Any]:
    return {
        "version": version,
        "draft_sha256": sha,
        "benchmark_version": evaluation.benchmark.version,
        "tier": evaluation.tier_code,
        "deviates": evaluation.deviation.deviates,
        "major": bool(evaluation.matches),
    }


async def revise_draft(*, principal: Principal, decision_id: UUID, data: schemas.DraftIn) -> schemas.DraftView:
    """A new immutable version; any earlier review no longer counts (R-LEGAL-4)."""
    principal.require("officer", "supervisor")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    case = await cases.case_facts(principal=principal, case_id=row["case_id"])
    _ensure_may_draft(principal, case)
    evaluation = await _evaluate(agency_id=principal.agency_id, draft=data)
    content = discretion.draft_content(decision_id=decision_id, case_id=row["case_id"], draft=data)
    sha = discretion.draft_sha256(content)
    async with write_transaction():
        version = row["version"] + 1
        changed = (
            await Decision.update(
                {**_decision_columns(data, evaluation, sha), Decision.version: version, Decision.status: "draft"}
            )
            .where((Decision.id == decision_id) & (Decision.version == row["version"]) & (Decision.status != "issued"))
            .returning(Decision.id)
        )
        if not changed:
            raise DraftChanged("the draft was changed or issued meanwhile; reload it")
        await _insert_version(decision_id, version, content, sha, principal.user_id)
        await _record_role(decision_id, principal.user_id, "drafter")
        details = {**_event_details(version, sha, evaluation), "previous_sha256": row["draft_sha256"]}
        await append_case_event(
            principal=principal,
            event="decision.revised",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return await get_decision(principal=principal, decision_id=decision_id)


# --- written notice (R-DISC-7) ---------------------------------------------------------------


def _notice_out(row: dict[str, Any]) -> schemas.NoticeOut:
    def utc(name: str) -> Any:
        return clock.as_utc(row[name]) if row[name] else None

    return schemas.NoticeOut(
        id=row["id"],
        decision_id=row["decision"],
        based_on_version=row["based_on_version"],
        facts=row["facts"],
        reasons=row["reasons"],
        legal_basis=row["legal_basis"],
        rights=[str(r) for r in standards.json_list(row["rights"])],
        answer_days=row["answer_days"],
        answer_day_kind=row["answer_day_kind"],
        generated_at=clock.as_utc(row["generated_at"]),
        served_at=utc("served_at"),
        service_method=row["service_method"],
        recipient=row["recipient"],
        proof_evidence_id=row["proof_evidence_id"],
        answer_deadline=utc("answer_deadline"),
        waived_at=utc("waived_at"),
        waiver_evidence_id=row["waiver_evidence_id"],
        hearing_requested=bool(row["hearing_requested"]),
    )


async def _latest_notice(decision_id: UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await WrittenNotice.select()
        .where(WrittenNotice.decision == decision_id)
        .order_by(WrittenNotice.generated_at, ascending=False)
        .first()
    )
    return row


def _longest_period(periods: list[schemas.AnswerPeriodOut], kinds: list[str]) -> schemas.AnswerPeriodOut:
    by_kind = {p.penalty_kind: p for p in periods}
    chosen = [by_kind[k] for k in kinds] or [by_kind["warning"]]
    # A working-day period is at least as long as a calendar one of the same count.
    return max(chosen, key=lambda p: (p.days, p.day_kind == "working"))


async def generate_notice(*, principal: Principal, decision_id: UUID, data: schemas.NoticeIn) -> schemas.NoticeOut:
    """The notice states the current draft's facts, reasons and basis, and the party's rights."""
    principal.require("officer", "supervisor")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    draft = await _current_draft(row)
    period = _longest_period(await standards.answer_periods(agency_id=principal.agency_id), [p.kind for p in draft.penalties])
    notice_id = uuid.uuid4()
    async with write_transaction():
        await WrittenNotice.insert(
            WrittenNotice(
                id=notice_id,
                decision=decision_id,
                based_on_version=row["version"],
                facts=draft.facts,
                reasons=draft.reasons,
                legal_basis=draft.legal_basis,
                rights=list(dict.fromkeys(data.rights)),
                answer_days=period.days,
                answer_day_kind=period.day_kind,
                generated_by=principal.user_id,
                generated_at=clock.now(),
            )
        )
        details = {
            "notice_id": str(notice_id),
            "version": row["version"],
            "answer_days": period.days,
            "day_kind": period.day_kind,
        }
        await append_case_event(
            principal=principal,
            event="decision.notice_generated",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    notice = await WrittenNotice.select().where(WrittenNotice.id == notice_id).first()
    assert notice is not None
    return _notice_out(notice)


async def _ensure_case_evidence(*, case_id: UUID, evidence_id: UUID, field: str) -> None:
    """Proof of service is a capture held in this case's evidence (photo of a signed receipt…).

    The case is already scoped to the caller's agency; evidence may be held under the
    entrusting agency for entrusted cases, so it is matched by case, not by agency.
    """
    found = await EvidenceItem.count().where((EvidenceItem.id == evidence_id) & (EvidenceItem.case_id == case_id))
    if not found:
        raise InvalidInput(f"evidence {evidence_id} is not a capture of this case", field=field)


async def record_notice_service(*, principal: Principal, decision_id: UUID, data: schemas.NoticeServiceIn) -> schemas.NoticeOut:
    principal.require("officer", "supervisor")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    notice = await _latest_notice(decision_id)
    if notice is None:
        raise NoticeNotServed("generate the written notice before recording its service")
    if notice["served_at"] is not None:
        raise Conflict("this notice's service is already recorded")
    if data.served_at.tzinfo is None or data.served_at > clock.now() + _SERVICE_CLOCK_TOLERANCE:
        raise InvalidInput("served_at must be a timezone-aware time not in the future", field="served_at")
    await _ensure_case_evidence(case_id=row["case_id"], evidence_id=data.proof_evidence_id, field="proof_evidence_id")
    # Calendar years the statutory calendar does not know are refused here, never guessed.
    deadline = _deadline(data.served_at, notice["answer_days"], notice["answer_day_kind"])
    async with write_transaction():
        await WrittenNotice.update(
            {
                WrittenNotice.served_at: data.served_at,
                WrittenNotice.service_method: data.method,
                WrittenNotice.recipient: data.recipient,
                WrittenNotice.proof_evidence_id: data.proof_evidence_id,
                WrittenNotice.served_recorded_by: principal.user_id,
                WrittenNotice.answer_deadline: deadline,
                WrittenNotice.hearing_requested: data.hearing_requested,
            }
        ).where(WrittenNotice.id == notice["id"])
        details = {
            "notice_id": str(notice["id"]),
            "method": data.method,
            "proof_evidence_id": str(data.proof_evidence_id),
            "answer_deadline": deadline.isoformat(),
        }
        await append_case_event(
            principal=principal,
            event="decision.notice_served",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    served = await WrittenNotice.select().where(WrittenNotice.id == notice["id"]).first()
    assert served is not None
    return _notice_out(served)


def _deadline(served_at: datetime, days: int, day_kind: str) -> datetime:
    return deadlines.period_end(served_at, days, "working" if day_kind == "working" else "calendar")


async def waive_answer_period(*, principal: Principal, decision_id: UUID, data: schemas.NoticeWaiverIn) -> schemas.NoticeOut:
    """The party gives up the rest of the answer period in writing (the waiver is a capture)."""
    principal.require("officer", "supervisor")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    notice = await _latest_notice(decision_id)
    if notice is None or notice["served_at"] is None:
        raise NoticeNotServed("a waiver needs a served notice")
    if notice["waived_at"] is not None:
        raise Conflict("the answer period is already waived")
    await _ensure_case_evidence(case_id=row["case_id"], evidence_id=data.waiver_evidence_id, field="waiver_evidence_id")
    async with write_transaction():
        await WrittenNotice.update(
            {
                WrittenNotice.waived_at: clock.now(),
                WrittenNotice.waiver_evidence_id: data.waiver_evidence_id,
                WrittenNotice.waiver_note: data.note,
            }
        ).where(WrittenNotice.id == notice["id"])
        details = {"notice_id": str(notice["id"]), "waiver_evidence_id": str(data.waiver_evidence_id)}
        await append_case_event(
            principal=principal,
            event="decision.answer_period_waived",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    waived = await WrittenNotice.select().where(WrittenNotice.id == notice["id"]).first()
    assert waived is not None
    return _notice_out(waived)


async def get_notice(*, principal: Principal, decision_id: UUID) -> schemas.NoticeOut:
    await _decision_row(principal=principal, decision_id=decision_id)
    notice = await _latest_notice(decision_id)
    if notice is None:
        raise NotFound("no written notice has been generated for this decision")
    return _notice_out(notice)


# --- legal review (R-LEGAL-1/2/4/5, R-RCS-3/5) -----------------------------------------------


def _review_out(row: dict[str, Any], decision: dict[str, Any]) -> schemas.ReviewOut:
    return schemas.ReviewOut(
        id=row["id"],
        decision_id=row["decision"],
        version=row["version"],
        draft_sha256=row["draft_sha256"],
        reviewer_id=row["reviewer"],
        outcome=row["outcome"],
        opinion=row["opinion"],
        reviewed_at=clock.as_utc(row["reviewed_at"]),
        current=row["version"] == decision["version"] and row["draft_sha256"] == decision["draft_sha256"],
    )


async def _reviews(decision: dict[str, Any]) -> list[schemas.ReviewOut]:
    rows = await LegalReview.select().where(LegalReview.decision == decision["id"]).order_by(LegalReview.reviewed_at)
    return [_review_out(r, decision) for r in rows]


async def list_reviews(*, principal: Principal, decision_id: UUID) -> list[schemas.ReviewOut]:
    return await _reviews(await _decision_row(principal=principal, decision_id=decision_id))


async def _separation(*, principal: Principal, case: cases.CaseFacts, function: str, decision_id: UUID) -> list[str]:
    me = principal.user_id
    return await _separation_of(
        user_id=me, name=principal.username, principal=principal, case=case, function=function, decision_id=decision_id
    )


# Functions a person took on through this decision itself (R-DISC-8).
_ROLE_FUNCTIONS = {"hearing_host": "hearing", "approver": "decision"}


async def _separation_of(
    *, user_id: UUID, name: str, principal: Principal, case: cases.CaseFacts, function: str, decision_id: UUID
) -> list[str]:
    """R-DISC-8: the person's other functions on the case; `block` refuses, `warn` reports."""
    roles = await DecisionRole.select(DecisionRole.role).where(
        (DecisionRole.decision == decision_id) & (DecisionRole.user == user_id)
    )
    functions = case.functions_of(user_id) | {_ROLE_FUNCTIONS[r["role"]] for r in roles if r["role"] in _ROLE_FUNCTIONS}
    if user_id in case.lead_ids:
        functions.add("investigation")
    held = sorted(functions - {function})
    if not held:
        return []
    message = f"{name} would act as {function} on case {case.reference} while holding {', '.join(held)}"
    agency = await org_service.get_agency(agency_id=principal.agency_id)
    if agency.separation_mode == "block":
        raise SeparationOfFunctions(message)
    return [message]


async def _add_warnings(decision_id: UUID, existing: Any, warnings: list[str]) -> None:
    if warnings:
        merged = list(dict.fromkeys([*standards.json_list(existing), *warnings]))
        await Decision.update({Decision.separation_warnings: merged}).where(Decision.id == decision_id)


_STATUS_AFTER_REVIEW = {"passed": "review_passed", "not_passed": "review_failed", "returned": "returned"}


async def review_decision(*, principal: Principal, decision_id: UUID, data: schemas.ReviewIn) -> schemas.ReviewOut:
    """Record one review of exactly the draft version the reviewer saw; never changed afterwards."""
    await standards.ensure_may_review(principal=principal)
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    if data.draft_sha256 != row["draft_sha256"]:
        raise DraftChanged(
            f"the draft is now version {row['version']} ({row['draft_sha256']}); review that version",
            current_sha256=row["draft_sha256"],
        )
    case = await cases.case_facts(principal=principal, case_id=row["case_id"])
    warnings = await _separation(principal=principal, case=case, function="review", decision_id=decision_id)
    # R-RCS-3: the reviewer declares too; R-RCS-5: no pass while a handler lacks one or is blocked.
    await cases.require_declared(case_id=case.id, user_ids=[principal.user_id], as_what="the legal reviewer")
    if data.outcome == "passed":
        members = case.handler_ids | await _discussion_member_ids(decision_id)
        await cases.require_declared(case_id=case.id, user_ids=members, as_what="the case handlers and discussion members")
    review_id = uuid.uuid4()
    async with write_transaction():
        await LegalReview.insert(
            LegalReview(
                id=review_id, decision=decision_id, version=row["version"], draft_sha256=row["draft_sha256"],
                reviewer=principal.user_id, outcome=data.outcome, opinion=data.opinion, reviewed_at=clock.now(),
            )
        )  # fmt: skip
        await Decision.update({Decision.status: _STATUS_AFTER_REVIEW[data.outcome]}).where(
            (Decision.id == decision_id) & (Decision.draft_sha256 == row["draft_sha256"])
        )
        await _add_warnings(decision_id, row["separation_warnings"], warnings)
        await _record_role(decision_id, principal.user_id, "reviewer")
        details = {
            "review_id": str(review_id),
            "outcome": data.outcome,
            "version": row["version"],
            "draft_sha256": row["draft_sha256"],
        }
        await append_case_event(
            principal=principal,
            event="decision.reviewed",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    stored = await LegalReview.select().where(LegalReview.id == review_id).first()
    assert stored is not None
    return _review_out(stored, row)


# --- issuing (R-DISC-7/8, R-LEGAL-4/6) --------------------------------------------------------


async def _ensure_notice_complete(row: dict[str, Any]) -> None:
    """R-DISC-7: served, and the answer period passed or waived in writing."""
    notice = await _latest_notice(row["id"])
    if notice is None or notice["served_at"] is None:
        raise NoticeNotServed("the written notice of facts, reasons and basis must be served before the decision is issued")
    await _ensure_hearing_held(row["id"], notice)
    if notice["waived_at"] is None and notice["answer_deadline"] is not None:
        deadline = clock.as_utc(notice["answer_deadline"])
        if clock.now() <= deadline:
            raise AnswerPeriodRunning(
                f"the party may answer until {deadline.isoformat()}; issue after it or record a written waiver",
                answer_deadline=deadline.isoformat(),
            )


def _ensure_review_gate(row: dict[str, Any], reviews: list[schemas.ReviewOut], matches: list[schemas.MajorMatch]) -> None:
    """R-LEGAL-4: a major decision needs a passed review of exactly this draft (version + SHA-256)."""
    current = [r for r in reviews if r.current]
    latest = current[-1] if current else None
    if latest is not None and latest.outcome != "passed":
        raise LegalReviewRequired(
            f"the legal review of this draft is '{latest.outcome}': {latest.opinion}", current_sha256=row["draft_sha256"]
        )
    if not matches or latest is not None:
        return
    why = "; ".join(m.reason for m in matches)
    passed_before = [r for r in reviews if r.outcome == "passed"]
    if passed_before:
        old = passed_before[-1]
        raise LegalReviewRequired(
            f"this is a major decision ({why}); the passed review covered draft version {old.version} ({old.draft_sha256}), "
            f"but the draft changed since (now version {row['version']}, {row['draft_sha256']}): that review no longer counts",
            current_sha256=row["draft_sha256"],
            reviewed_sha256=old.draft_sha256,
        )
    raise LegalReviewRequired(
        f"this is a major decision ({why}); it needs a passed legal review of "
        f"draft version {row['version']} ({row['draft_sha256']})",
        current_sha256=row["draft_sha256"],
    )


def _check_disclosure(data: schemas.IssueIn) -> None:
    # R-DISC-9: results are public unless a secret or privacy reason is recorded.
    if data.disclosure == "restricted" and not (data.restriction_kind and data.restriction_reason.strip()):
        raise InvalidInput("a restricted decision needs restriction_kind and restriction_reason", field="restriction_reason")


async def issue_decision(*, principal: Principal, decision_id: UUID, data: schemas.IssueIn) -> schemas.DraftView:
    principal.require("supervisor", "admin")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    if data.draft_sha256 != row["draft_sha256"]:
        raise DraftChanged(
            f"the draft is now version {row['version']} ({row['draft_sha256']})", current_sha256=row["draft_sha256"]
        )
    _check_disclosure(data)
    case = await cases.case_facts(principal=principal, case_id=row["case_id"])
    if case.stage != "review_decision":
        raise CaseStageConflict(f"case {case.reference} is in {case.stage}; decisions are issued in review_decision")
    await _ensure_notice_complete(row)
    reviews = await _reviews(row)
    _ensure_review_gate(row, reviews, await _major_now(row))
    if principal.user_id in {r.reviewer_id for r in reviews}:
        # R-LEGAL-6: approver and reviewer are recorded, and must be, separately.
        raise ApproverIsReviewer("the approver reviewed this decision; another person must approve it")
    warnings = await _separation(principal=principal, case=case, function="decision", decision_id=decision_id)
    await cases.require_declared(case_id=case.id, user_ids=[principal.user_id], as_what="the approver")
    await _issue(principal, row, data, warnings)
    return await get_decision(principal=principal, decision_id=decision_id)


async def _major_now(row: dict[str, Any]) -> list[schemas.MajorMatch]:
    """Stored matches plus the catalog as it stands today: a lowered threshold also counts."""
    stored = _MATCHES.decode(
        row["major_matches"] if isinstance(row["major_matches"], str) else msgspec.json.encode(row["major_matches"])
    )
    draft = await _current_draft(row)
    rules = await standards.catalog_rules(agency_id=row["agency"])
    return stored or discretion.major_matches(rules, item_code=row["item_code"], penalties=draft.penalties)


async def _issue(principal: Principal, row: dict[str, Any], data: schemas.IssueIn, warnings: list[str]) -> None:
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
                .where((Decision.id == row["id"]) & (Decision.draft_sha256 == data.draft_sha256) & (Decision.status != "issued"))
                .returning(Decision.id)
            )
        if not changed:
            raise DraftChanged("the draft changed or was issued meanwhile; reload it")
        await _add_warnings(row["id"], row["separation_warnings"], warnings)
        await _record_role(row["id"], principal.user_id, "approver")
        details = {
            "decision_no": data.decision_no,
            "version": row["version"],
            "draft_sha256": row["draft_sha256"],
            "separation_warnings": warnings,
        }
        await append_case_event(
            principal=principal,
            event="decision.issued",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=row["id"],
            details=details,
        )
        await cases.move_to_service_and_execution(principal=principal, case_id=row["case_id"], decision_no=data.decision_no)


# --- recusal of decision roles and collective discussion (R-RCS-2/3/5) ----------------------


def _declaration_out(row: dict[str, Any]) -> schemas.DeclarationOut:
    return schemas.DeclarationOut(
        id=row["id"],
        case_id=row["case_id"],
        user_id=row["user"],
        capacity=row["capacity"],
        conflict=bool(row["conflict"]),
        ground=row["ground"],
        statement=row["statement"],
        declared_at=clock.as_utc(row["declared_at"]),
    )


async def declare_recusal(*, principal: Principal, case_id: UUID, data: schemas.DeclarationIn) -> schemas.DeclarationOut:
    """The caller declares on the three grounds for a decision role on the case; immutable."""
    if data.conflict != (data.ground is not None):
        # R-RCS-1: a conflict names its ground; "no conflict" names none.
        raise InvalidInput("a declared conflict names its ground, and only a conflict does", field="ground")
    case = await cases.case_facts(principal=principal, case_id=case_id)
    scope = (DecisionDeclaration.case_id == case.id) & (DecisionDeclaration.user == principal.user_id)
    declaration_id = uuid.uuid4()
    async with write_transaction():
        if await DecisionDeclaration.count().where(scope & (DecisionDeclaration.capacity == data.capacity)):
            raise Conflict(f"you already declared as {data.capacity} on this case; declarations are immutable")
        await DecisionDeclaration.insert(
            DecisionDeclaration(
                id=declaration_id, case_id=case.id, agency=principal.agency_id, user=principal.user_id, capacity=data.capacity,
                conflict=data.conflict, ground=data.ground or "", statement=data.statement, declared_at=clock.now(),
            )
        )  # fmt: skip
        details = {"capacity": data.capacity, "conflict": data.conflict, "ground": data.ground or ""}
        await append_case_event(
            principal=principal,
            event="recusal.declared",
            case_id=case.id,
            subject_id=declaration_id,
            details=details,
            subject_type="recusal",
        )
    row = await DecisionDeclaration.select().where(DecisionDeclaration.id == declaration_id).first()
    assert row is not None
    return _declaration_out(row)


async def list_declarations(*, principal: Principal, case_id: UUID) -> list[schemas.DeclarationOut]:
    case = await cases.case_facts(principal=principal, case_id=case_id)
    rows = (
        await DecisionDeclaration.select().where(DecisionDeclaration.case_id == case.id).order_by(DecisionDeclaration.declared_at)
    )
    return [_declaration_out(r) for r in rows]


def _discussion_out(row: dict[str, Any]) -> schemas.DiscussionOut:
    return schemas.DiscussionOut(
        id=row["id"],
        decision_id=row["decision"],
        held_at=clock.as_utc(row["held_at"]),
        participant_ids=[UUID(str(p)) for p in standards.json_list(row["participants"])],
        minutes=row["minutes"],
        outcome=row["outcome"],
        recorded_at=clock.as_utc(row["recorded_at"]),
    )


async def _discussions(decision_id: UUID) -> list[schemas.DiscussionOut]:
    rows = (
        await CollectiveDiscussion.select()
        .where(CollectiveDiscussion.decision == decision_id)
        .order_by(CollectiveDiscussion.held_at)
    )
    return [_discussion_out(r) for r in rows]


async def record_discussion(*, principal: Principal, decision_id: UUID, data: schemas.DiscussionIn) -> schemas.DiscussionOut:
    """R-RCS-2: nobody joins the collective discussion without a declaration."""
    principal.require("supervisor", "admin")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    participants = sorted(set(data.participant_ids))
    known = await User.count().where(User.id.is_in(participants) & (User.agency == principal.agency_id))
    if known != len(participants):
        raise NotFound("a participant is not a user of this agency", field="participant_ids")
    await cases.require_declared(case_id=row["case_id"], user_ids=participants, as_what="collective discussion")
    discussion_id = uuid.uuid4()
    async with write_transaction():
        await CollectiveDiscussion.insert(
            CollectiveDiscussion(
                id=discussion_id, decision=decision_id, held_at=data.held_at, participants=[str(p) for p in participants],
                minutes=data.minutes, outcome=data.outcome, recorded_by=principal.user_id, recorded_at=clock.now(),
            )
        )  # fmt: skip
        for user_id in participants:
            await _record_role(decision_id, user_id, "discussion_member")
        details = {"discussion_id": str(discussion_id), "participants": [str(p) for p in participants]}
        await append_case_event(
            principal=principal,
            event="decision.discussed",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    stored = await CollectiveDiscussion.select().where(CollectiveDiscussion.id == discussion_id).first()
    assert stored is not None
    return _discussion_out(stored)


async def _discussion_member_ids(decision_id: UUID) -> set[UUID]:
    return {p for d in await _discussions(decision_id) for p in d.participant_ids}


# --- hearing (R-DISC-7 rights, R-DISC-8 separation) -----------------------------------------


async def record_hearing(*, principal: Principal, decision_id: UUID, data: schemas.HearingIn) -> schemas.HearingOut:
    """The hearing the party asked for; its host is checked like any other function holder."""
    principal.require("officer", "supervisor")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    _ensure_open(row)
    notice = await _latest_notice(decision_id)
    if notice is None or not notice["hearing_requested"]:
        raise Conflict("no hearing was requested on the served notice")
    host = await org_service.get_user(principal=principal, user_id=data.host_id)
    if data.record_evidence_id is not None:
        await _ensure_case_evidence(case_id=row["case_id"], evidence_id=data.record_evidence_id, field="record_evidence_id")
    case = await cases.case_facts(principal=principal, case_id=row["case_id"])
    warnings = await _separation_of(
        user_id=host.id, name=host.username, principal=principal, case=case, function="hearing", decision_id=decision_id
    )
    await cases.require_declared(case_id=case.id, user_ids=[host.id], as_what="the hearing host")
    hearing_id = uuid.uuid4()
    async with write_transaction():
        await Hearing.insert(
            Hearing(
                id=hearing_id, decision=decision_id, host=host.id, held_at=data.held_at, minutes=data.minutes,
                record_evidence_id=data.record_evidence_id, recorded_by=principal.user_id, recorded_at=clock.now(),
            )
        )  # fmt: skip
        await _add_warnings(decision_id, row["separation_warnings"], warnings)
        await _record_role(decision_id, host.id, "hearing_host")
        details = {"hearing_id": str(hearing_id), "host_id": str(host.id)}
        await append_case_event(
            principal=principal,
            event="decision.hearing_held",
            case_id=row["case_id"],
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return schemas.HearingOut(
        id=hearing_id, decision_id=decision_id, host_id=host.id, held_at=data.held_at, minutes=data.minutes,
        record_evidence_id=data.record_evidence_id, separation_warnings=warnings,
    )  # fmt: skip


async def _ensure_hearing_held(decision_id: UUID, notice: dict[str, Any]) -> None:
    if notice["hearing_requested"] and not await Hearing.count().where(Hearing.decision == decision_id):
        raise HearingPending("the party asked for a hearing; record it before the decision is issued")


# --- the reviewer's bundle and public results --------------------------------------------------


async def review_bundle(*, principal: Principal, decision_id: UUID) -> schemas.ReviewBundle:
    """R-LEGAL-5: draft, tier and justification, notice, reviews, declarations, in one view."""
    principal.require("legal_reviewer", "supervisor", "admin")
    row = await _decision_row(principal=principal, decision_id=decision_id)
    view = await get_decision(principal=principal, decision_id=decision_id)
    case = await cases.case_facts(principal=principal, case_id=row["case_id"])
    notice = await _latest_notice(decision_id)
    roles = await DecisionRole.select().where(DecisionRole.decision == decision_id).order_by(DecisionRole.assigned_at)
    # R-RCS-5: declarations of everyone who handled, discussed, reviewed or approved it.
    people = case.handler_ids | {r["user"] for r in roles}
    declarations = {str(u): (await cases.recusal_problem(case_id=case.id, user_id=u)) or "declared" for u in sorted(people)}
    return schemas.ReviewBundle(
        decision=view.decision,
        notice=_notice_out(notice) if notice else None,
        reviews=await _reviews(row),
        comparable=view.comparable,
        discussions=await _discussions(decision_id),
        roles=[
            {"user_id": str(r["user"]), "role": r["role"], "assigned_at": clock.as_utc(r["assigned_at"]).isoformat()}
            for r in roles
        ],
        case={"id": str(case.id), "reference": case.reference, "stage": case.stage, "declarations": declarations},
    )


async def public_decisions(*, agency_id: UUID, limit: int = 100) -> list[schemas.PublicDecision]:
    """R-DISC-9: issued results open to public inspection unless restricted with a reason."""
    rows = (
        await Decision.select()
        .where((Decision.agency == agency_id) & (Decision.status == "issued") & (Decision.disclosure == "public"))
        .order_by(Decision.issued_at, ascending=False)
        .limit(limit)
    )
    return [
        schemas.PublicDecision(
            decision_no=r["decision_no"],
            issued_at=clock.as_utc(r["issued_at"]),
            item_code=r["item_code"],
            penalty_kinds=[str(k) for k in standards.json_list(r["penalty_kinds"])],
            fine_total_fen=r["fine_total_fen"],
        )
        for r in rows
    ]
