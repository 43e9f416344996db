"""What counts as a stage's record, what ``/records`` lists, and what closing a case needs
(R-REC-1, R-REC-6; issue 14, found #8).

A stage record is a file or a capture of that stage: a record filed with its evidence (a
photographed or scanned document), the issued decision the decisions room files, or a
capture received while the case was in the stage. A title alone is not a record. Captures
are listed beside the filed records, each under the stage it was received in.

Closing (archiving) a case answers every missing condition in one 409, as an action's start
does: the last stage's record, every action closed, no recusal request awaiting decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core.errors import Conflict
from backend.core.rows import fetch_all
from backend.field import schemas
from backend.field.rows import CaseRow
from backend.field.tables import Action, CaseRecord, CaseStage, RecusalRequest
from evidence.tables import EvidenceItem

# The record the decisions room files when a decision issues (stages.file_decision); no
# request body can name this kind.
DECISION_KIND = "decision"


class CaseCloseBlocked(Conflict):
    slug = "case-close-blocked"
    title = "The case cannot be closed yet"


class _Capture(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    kind: str
    filename: str | None
    status: str
    received_at: datetime


class _Entered(msgspec.Struct, kw_only=True):
    stage: str
    entered_at: datetime


async def _captures(case: CaseRow) -> list[_Capture]:
    query = EvidenceItem.select(
        EvidenceItem.id,
        EvidenceItem.case_id,
        EvidenceItem.kind,
        EvidenceItem.filename,
        EvidenceItem.status,
        EvidenceItem.received_at,
    ).where((EvidenceItem.agency == case.agency_id) & (EvidenceItem.case_id == case.id) & (EvidenceItem.status != "rejected"))
    return await fetch_all(_Capture, query.order_by(EvidenceItem.received_at))


def _stage_at(history: list[_Entered], when: datetime) -> str:
    current = history[0].stage if history else "initiation"
    for entered in history:
        if entered.entered_at <= when:
            current = entered.stage
    return current


async def with_captures(case: CaseRow, records: list[schemas.CaseRecordOut]) -> list[schemas.CaseRecordOut]:
    """The filed records and every capture not filed as one, each in the stage it came in."""
    entered = CaseStage.select(CaseStage.stage, CaseStage.entered_at).where(CaseStage.case == case.id)
    history = await fetch_all(_Entered, entered.order_by(CaseStage.entered_at))
    filed = {r.evidence_id for r in records if r.evidence_id is not None}
    captures = [
        schemas.CaseRecordOut(
            id=c.id,
            case_id=case.id,
            stage=_stage_at(history, c.received_at),
            kind="capture",
            title=c.filename or f"{c.kind} capture",
            evidence_id=c.id,
            created_at=c.received_at,
        )
        for c in await _captures(case)
        if c.id not in filed
    ]
    return sorted([*records, *captures], key=lambda r: r.created_at)


async def stage_has_record(case: CaseRow) -> bool:
    """R-REC-1: a file or a capture of the current stage (a title alone does not count)."""
    filed = await CaseRecord.exists().where(
        (CaseRecord.case == case.id)
        & (CaseRecord.stage == case.stage)
        & (CaseRecord.evidence_id.is_not_null() | (CaseRecord.kind == DECISION_KIND))
    )
    if filed:
        return True
    return any(c.received_at >= case.stage_entered_at for c in await _captures(case))


async def close_missing(case: CaseRow) -> list[dict[str, Any]]:
    """Everything that still keeps the case from being closed (archived), as structured items."""
    missing: list[dict[str, Any]] = []
    if not await stage_has_record(case):
        missing.append({"code": "stage_record", "stage": case.stage, "detail": f"stage {case.stage} has no document or capture"})
    open_actions = await Action.select(Action.id, Action.state).where((Action.case == case.id) & (Action.state != "closed"))
    for action in open_actions:
        missing.append(
            {"code": "action_open", "action_id": str(action["id"]), "detail": f"action {action['id']} is {action['state']}"}
        )
    pending = await RecusalRequest.select(RecusalRequest.id).where(
        (RecusalRequest.case == case.id) & (RecusalRequest.status == "pending")
    )
    for request in pending:
        missing.append(
            {"code": "recusal_request_pending", "request_id": str(request["id"]), "detail": "a recusal request awaits decision"}
        )
    return missing


def refuse_close(missing: list[dict[str, Any]]) -> None:
    if missing:
        raise CaseCloseBlocked("the case cannot be closed: " + "; ".join(m["detail"] for m in missing), missing=missing)
