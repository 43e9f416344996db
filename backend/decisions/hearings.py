"""The hearing the party asked for on the served notice (R-DISC-7 rights); its host is
checked for separation of functions like any other function holder (R-DISC-8).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict
from backend.decisions import case_facts, schemas, separation
from backend.decisions.notices import ensure_case_evidence, latest_notice
from backend.decisions.records import decision_row, ensure_open, record_role
from backend.decisions.rules import DRAFT
from backend.decisions.tables import Hearing
from backend.ledger.service import append_case_event
from backend.org import service as org_service


class HearingPending(Conflict):
    slug = "hearing-pending"
    title = "The party asked for a hearing that has not been held"


async def record_hearing(*, principal: Principal, decision_id: UUID, data: schemas.HearingIn) -> schemas.HearingOut:
    """The hearing the party asked for; its host is checked like any other function holder."""
    row = await decision_row(principal=principal, decision_id=decision_id, rule=DRAFT)
    ensure_open(row)
    notice = await latest_notice(decision_id)
    if notice is None or not notice.hearing_requested:
        raise Conflict("no hearing was requested on the served notice")
    host = await org_service.get_user(principal=principal, user_id=data.host_id)
    if data.record_evidence_id is not None:
        await ensure_case_evidence(case_id=row.case_id, evidence_id=data.record_evidence_id, field="record_evidence_id")
    case = await case_facts.read(principal=principal, case_id=row.case_id)
    warnings = await separation.of_person(
        user_id=host.id, name=host.username, principal=principal, case=case, function="hearing", decision_id=decision_id
    )
    await case_facts.require_declared(case_id=case.id, user_ids=[host.id], as_what="the hearing host")
    hearing_id = uuid.uuid4()
    async with write_transaction():
        await Hearing.insert(
            Hearing(
                id=hearing_id, decision=decision_id, host=host.id, held_at=data.held_at, minutes=data.minutes,
                record_evidence_id=data.record_evidence_id, recorded_by=principal.user_id, recorded_at=clock.now(),
            )
        )  # fmt: skip
        await separation.add_warnings(decision_id, row.separation_warnings, warnings)
        await record_role(decision_id, host.id, "hearing_host")
        details = {"hearing_id": str(hearing_id), "host_id": str(host.id)}
        await append_case_event(
            principal=principal,
            event="decision.hearing_held",
            case_id=row.case_id,
            subject_type="decision",
            subject_id=decision_id,
            details=details,
        )
    return schemas.HearingOut(
        id=hearing_id, decision_id=decision_id, host_id=host.id, held_at=data.held_at, minutes=data.minutes,
        record_evidence_id=data.record_evidence_id, separation_warnings=warnings,
    )  # fmt: skip


async def hearing_pending(decision_id: UUID, notice: schemas.NoticeOut) -> bool:
    """The party asked for a hearing on the served notice and none is recorded since that
    notice: a hearing on an earlier notice did not hear what a new one told (R-DISC-7)."""
    if not notice.hearing_requested:
        return False
    held = await Hearing.count().where((Hearing.decision == decision_id) & (Hearing.recorded_at >= notice.generated_at))
    return not held
