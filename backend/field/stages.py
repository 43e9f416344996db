"""Records filed per stage and moving a case to its next stage (R-REC-1, R-REC-6).

A stage closes only with at least one document or capture in it; archiving freezes the case.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput
from backend.core.rows import fetch_all, fetch_one
from backend.field import rules, schemas, stage_records
from backend.field.cases import ensure_not_archived, get_case
from backend.field.relations import case_for
from backend.field.rows import CaseRow
from backend.field.tables import Case, CaseRecord, CaseStage
from backend.ledger.service import append_case_event
from evidence.tables import EvidenceItem


class StageRecordMissing(Conflict):
    slug = "stage-record-missing"
    title = "The stage has no record yet"


# Built once: the response body read straight from the row (aliases are deep copies).
_RECORD_COLUMNS = (
    CaseRecord.id,
    CaseRecord.case.as_alias("case_id"),
    CaseRecord.stage,
    CaseRecord.kind,
    CaseRecord.title,
    CaseRecord.evidence_id,
    CaseRecord.created_at,
)


async def _record(where: Combinable) -> schemas.CaseRecordOut | None:
    return await fetch_one(schemas.CaseRecordOut, CaseRecord.select(*_RECORD_COLUMNS).where(where))


# --- records ----------------------------------------------------------------------------


async def add_record(*, principal: Principal, case_id: UUID, data: schemas.CaseRecordIn) -> schemas.CaseRecordOut:
    case = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_ADD_RECORD)
    ensure_not_archived(case)
    if data.evidence_id is not None:
        await _ensure_case_evidence(case, data.evidence_id)
    record_id = data.id or uuid.uuid4()
    existing = await _record((CaseRecord.id == record_id) & (CaseRecord.case == case_id))
    if existing is None:
        async with write_transaction():
            await _insert_record(principal, case, record_id, data.kind, data.title, data.evidence_id)
            await append_case_event(
                principal=principal,
                event="case.record_added",
                case_id=case_id,
                details={"stage": case.stage, "kind": data.kind, "title": data.title},
            )
        existing = await _record(CaseRecord.id == record_id)
    assert existing is not None
    return existing


async def _insert_record(
    principal: Principal, case: CaseRow, record_id: UUID, kind: str, title: str, evidence_id: UUID | None
) -> None:
    with unique_as(f"record {record_id} already exists", field="id"):
        await CaseRecord.insert(
            CaseRecord(
                id=record_id,
                case=case.id,
                stage=case.stage,
                kind=kind,
                title=title,
                evidence_id=evidence_id,
                created_by=principal.user_id,
                created_at=clock.now(),
            )
        )


async def _ensure_case_evidence(case: CaseRow, evidence_id: UUID) -> None:
    """A record names evidence of this very case (issue 14, found #5): another case's or
    another agency's capture is refused alike, so the answer reveals nothing of it."""
    found = await EvidenceItem.exists().where(
        (EvidenceItem.id == evidence_id) & (EvidenceItem.case_id == case.id) & (EvidenceItem.agency == case.agency_id)
    )
    if not found:
        raise InvalidInput(f"evidence {evidence_id} is not a capture of this case", field="evidence_id")


async def list_records(*, principal: Principal, case_id: UUID, purpose: str | None = None) -> list[schemas.CaseRecordOut]:
    """Filed records and the case's captures, each under its stage (R-REC-1, found #8)."""
    case = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_READ, purpose=purpose)
    query = CaseRecord.select(*_RECORD_COLUMNS).where(CaseRecord.case == case_id).order_by(CaseRecord.created_at)
    return await stage_records.with_captures(case, await fetch_all(schemas.CaseRecordOut, query))


async def file_decision(*, principal: Principal, case_id: UUID, title: str) -> None:
    """The issued decision, filed by the decisions room as the review & decision stage's record."""
    case = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_ADVANCE)
    ensure_not_archived(case)
    async with write_transaction():
        await _insert_record(principal, case, uuid.uuid4(), stage_records.DECISION_KIND, title, None)
        await append_case_event(
            principal=principal,
            event="case.record_added",
            case_id=case_id,
            details={"stage": case.stage, "kind": stage_records.DECISION_KIND, "title": title},
        )


# --- stages -----------------------------------------------------------------------------


async def advance_stage(*, principal: Principal, case_id: UUID, data: schemas.StageAdvanceIn) -> schemas.CaseOut:
    case = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_ADVANCE)
    ensure_not_archived(case)
    current = case.stage
    expected = schemas.STAGES[schemas.STAGES.index(current) + 1]
    if data.to_stage != expected:
        raise InvalidInput(f"from {current} the next stage is {expected}, not {data.to_stage}", field="to_stage")
    if data.to_stage == "archived":
        # Closing answers every missing condition at once, as an action's start does.
        stage_records.refuse_close(await stage_records.close_missing(case))
    elif not await stage_records.stage_has_record(case):
        # R-REC-1: a stage closes only with a file or capture of it (a title alone is none).
        raise StageRecordMissing(f"stage {current} has no document or capture yet", stage=current)
    now = clock.now()
    async with write_transaction():
        await CaseStage.update({CaseStage.left_at: now, CaseStage.left_by: principal.user_id}).where(
            (CaseStage.case == case_id) & (CaseStage.stage == current) & CaseStage.left_at.is_null()
        )
        await CaseStage.insert(CaseStage(id=uuid.uuid4(), case=case_id, stage=data.to_stage, entered_at=now))
        changes: dict[Any, Any] = {Case.stage: data.to_stage, Case.stage_entered_at: now}
        if data.to_stage == "archived":
            changes[Case.archived_at] = now
        await Case.update(changes).where(Case.id == case_id)
        await append_case_event(
            principal=principal, event="case.stage_changed", case_id=case_id, details={"from": current, "to": data.to_stage}
        )
    return await get_case(principal=principal, case_id=case_id)
