"""The written notice before a decision (R-DISC-7): facts, reasons, basis and the party's
rights from the current draft, its service with proof, the answer deadline on the statutory
calendar, and a written waiver of the rest of the period.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.rows import fetch_one
from backend.decisions import deadlines, discretion, notice_changes, schemas, standards, standards_schemas
from backend.decisions.records import DecisionRow, current_draft, decision_row, draft_at, ensure_open
from backend.decisions.rules import DRAFT, READ
from backend.decisions.tables import WrittenNotice
from backend.ledger.service import append_case_event
from evidence.tables import EvidenceItem

# Service is recorded after it happened; a time ahead of the server clock is a typing error.
_SERVICE_CLOCK_TOLERANCE = timedelta(minutes=5)
_NOTICE_COLUMNS = (
    WrittenNotice.id,
    WrittenNotice.decision.as_alias("decision_id"),
    WrittenNotice.based_on_version,
    WrittenNotice.facts,
    WrittenNotice.reasons,
    WrittenNotice.legal_basis,
    WrittenNotice.rights,
    WrittenNotice.answer_days,
    WrittenNotice.answer_day_kind,
    WrittenNotice.generated_at,
    WrittenNotice.served_at,
    WrittenNotice.service_method,
    WrittenNotice.recipient,
    WrittenNotice.proof_evidence_id,
    WrittenNotice.answer_deadline,
    WrittenNotice.answer_deadline_provisional,
    WrittenNotice.waived_at,
    WrittenNotice.waiver_evidence_id,
    WrittenNotice.hearing_requested,
)


class NoticeNotServed(Conflict):
    slug = "notice-not-served"
    title = "The written notice has not been served"


class NoticeOutdated(Conflict):
    slug = "notice-outdated"
    title = "The draft got heavier since the written notice: a new notice is needed"


async def _notice(notice_id: UUID) -> schemas.NoticeOut:
    notice = await fetch_one(schemas.NoticeOut, WrittenNotice.select(*_NOTICE_COLUMNS).where(WrittenNotice.id == notice_id))
    assert notice is not None
    return notice


async def latest_notice(decision_id: UUID) -> schemas.NoticeOut | None:
    query = (
        WrittenNotice.select(*_NOTICE_COLUMNS)
        .where(WrittenNotice.decision == decision_id)
        .order_by(WrittenNotice.generated_at, ascending=False)
    )
    return await fetch_one(schemas.NoticeOut, query)


async def heavier_since(row: DecisionRow, notice: schemas.NoticeOut) -> list[str]:
    """R-DISC-7: what in the current draft the party was not told (empty: the notice holds)."""
    if notice.based_on_version == row.version:
        return []
    notified = await draft_at(row.id, notice.based_on_version)
    current = await current_draft(row)
    benchmark = await standards.get_benchmark(agency_id=row.agency_id, benchmark_id=current.benchmark_id)
    item = discretion.find_item(benchmark.items, current.item_code)
    return notice_changes.heavier_changes(notified, current, item)


def _longest_period(periods: list[standards_schemas.AnswerPeriodOut], kinds: list[str]) -> standards_schemas.AnswerPeriodOut:
    by_kind = {p.penalty_kind: p for p in periods}
    chosen = [by_kind[k] for k in kinds] or [by_kind["warning"]]
    # A working-day period is at least as long as a calendar one of the same count.
    return max(chosen, key=lambda p: (p.days, p.day_kind == "working"))


async def generate_notice(*, principal: Principal, decision_id: UUID, data: schemas.NoticeIn) -> schemas.NoticeOut:
    """The notice states the current draft's facts, reasons and basis, and the party's rights."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DRAFT)
    ensure_open(row)
    draft = await current_draft(row)
    period = _longest_period(await standards.answer_periods(agency_id=principal.agency_id), [p.kind for p in draft.penalties])
    notice_id = uuid.uuid4()
    async with write_transaction():
        await WrittenNotice.insert(
            WrittenNotice(
                id=notice_id,
                decision=decision_id,
                based_on_version=row.version,
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
            "version": row.version,
            "answer_days": period.days,
            "day_kind": period.day_kind,
        }
        await append_case_event(
            principal=principal,
            event="decision.notice_generated",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return await _notice(notice_id)


async def ensure_case_evidence(*, case_id: UUID, evidence_id: UUID, field: str) -> None:
    """Proof of service is a capture held in this case's evidence (photo of a signed receipt…).

    The case is already scoped to the caller's agency; evidence may be held under the
    entrusting agency for entrusted cases, so it is matched by case, not by agency.
    """
    found = await EvidenceItem.count().where((EvidenceItem.id == evidence_id) & (EvidenceItem.case_id == case_id))
    if not found:
        raise InvalidInput(f"evidence {evidence_id} is not a capture of this case", field=field)


async def record_notice_service(*, principal: Principal, decision_id: UUID, data: schemas.NoticeServiceIn) -> schemas.NoticeOut:
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DRAFT)
    ensure_open(row)
    notice = await latest_notice(decision_id)
    if notice is None:
        raise NoticeNotServed("generate the written notice before recording its service")
    if notice.served_at is not None:
        raise Conflict("this notice's service is already recorded")
    if data.served_at.tzinfo is None or data.served_at > clock.now() + _SERVICE_CLOCK_TOLERANCE:
        raise InvalidInput("served_at must be a timezone-aware time not in the future", field="served_at")
    await ensure_case_evidence(case_id=row.case_id, evidence_id=data.proof_evidence_id, field="proof_evidence_id")
    # A year the statutory calendar does not know yet makes the deadline provisional
    # (weekends only), recomputed when the Justice Bureau loads the year.
    found = await deadlines.answer_deadline(data.served_at, notice.answer_days, notice.answer_day_kind)
    deadline = found.due_at
    async with write_transaction():
        await WrittenNotice.update(
            {
                WrittenNotice.served_at: data.served_at,
                WrittenNotice.service_method: data.method,
                WrittenNotice.recipient: data.recipient,
                WrittenNotice.proof_evidence_id: data.proof_evidence_id,
                WrittenNotice.served_recorded_by: principal.user_id,
                WrittenNotice.answer_deadline: deadline,
                WrittenNotice.answer_deadline_provisional: found.provisional,
                WrittenNotice.hearing_requested: data.hearing_requested,
            }
        ).where(WrittenNotice.id == notice.id)
        details = {
            "notice_id": str(notice.id),
            "method": data.method,
            "proof_evidence_id": str(data.proof_evidence_id),
            "answer_deadline": deadline.isoformat(),
            "provisional": found.provisional,
        }
        await append_case_event(
            principal=principal,
            event="decision.notice_served",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return await _notice(notice.id)


async def waive_answer_period(*, principal: Principal, decision_id: UUID, data: schemas.NoticeWaiverIn) -> schemas.NoticeOut:
    """The party gives up the rest of the answer period in writing (the waiver is a capture)."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DRAFT)
    ensure_open(row)
    notice = await latest_notice(decision_id)
    if notice is None or notice.served_at is None:
        raise NoticeNotServed("a waiver needs a served notice")
    if notice.waived_at is not None:
        raise Conflict("the answer period is already waived")
    await ensure_case_evidence(case_id=row.case_id, evidence_id=data.waiver_evidence_id, field="waiver_evidence_id")
    async with write_transaction():
        await WrittenNotice.update(
            {
                WrittenNotice.waived_at: clock.now(),
                WrittenNotice.waiver_evidence_id: data.waiver_evidence_id,
                WrittenNotice.waiver_note: data.note,
            }
        ).where(WrittenNotice.id == notice.id)
        details = {"notice_id": str(notice.id), "waiver_evidence_id": str(data.waiver_evidence_id)}
        await append_case_event(
            principal=principal,
            event="decision.answer_period_waived",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return await _notice(notice.id)


async def get_notice(*, principal: Principal, decision_id: UUID) -> schemas.NoticeOut:
    row = await decision_row(principal=principal, decision_id=decision_id, rule=READ)
    notice = await latest_notice(decision_id)
    if notice is None:
        raise NotFound("no written notice has been generated for this decision")
    return msgspec.structs.replace(notice, outdated_by=await heavier_since(row, notice))
