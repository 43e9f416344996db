"""Taking a wrongly assigned officer off a case, or a wrongly planned participant off an
action, with a reason (issue 14, found #6).

What the person did stays: their recusal declarations and check-ins are evidence and are
never touched; the removal is a dated row change with its reason and a ledger entry. Off the
case means off its actions not yet closed too, as a recusal does (R-RCS-4).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec import Meta

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import NotFound
from backend.field import action_schemas, rules, schemas
from backend.field.actions import action_out, ensure_state
from backend.field.cases import ensure_not_archived, get_case
from backend.field.relations import action_for, case_for
from backend.field.tables import Action, ActionParticipant, CaseOfficer
from backend.ledger.service import append_case_event

Reason = Annotated[str, Meta(min_length=1, max_length=255)]


class RemovalIn(schemas.Strict, kw_only=True):
    reason: Reason


async def remove_officer(*, principal: Principal, case_id: UUID, user_id: UUID, data: RemovalIn) -> schemas.CaseOut:
    case = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_REMOVE_OFFICER)
    ensure_not_archived(case)
    assigned = (CaseOfficer.case == case_id) & (CaseOfficer.user == user_id) & CaseOfficer.removed_at.is_null()
    if not await CaseOfficer.exists().where(assigned):
        raise NotFound(f"user {user_id} is not an officer of this case", field="user_id")
    now = clock.now()
    reason = f"removed: {data.reason}"
    open_actions = Action.select(Action.id).where((Action.case == case_id) & (Action.state != "closed"))
    async with write_transaction():
        await CaseOfficer.update({CaseOfficer.removed_at: now, CaseOfficer.removed_reason: reason}).where(assigned)
        await ActionParticipant.update({ActionParticipant.removed_at: now, ActionParticipant.removed_reason: reason}).where(
            (ActionParticipant.user == user_id)
            & ActionParticipant.removed_at.is_null()
            & ActionParticipant.action.is_in(open_actions)
        )
        await append_case_event(
            principal=principal,
            event="case.officer_removed",
            case_id=case_id,
            details={"user_id": str(user_id), "reason": data.reason},
        )
    return await get_case(principal=principal, case_id=case_id)


async def remove_participant(
    *, principal: Principal, action_id: UUID, user_id: UUID, data: RemovalIn
) -> action_schemas.ActionOut:
    case, action = await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_REMOVE_PARTICIPANT)
    ensure_not_archived(case)
    ensure_state(action, {"planned", "in_progress"}, "remove a participant")
    planned = (
        (ActionParticipant.action == action_id) & (ActionParticipant.user == user_id) & ActionParticipant.removed_at.is_null()
    )
    if not await ActionParticipant.exists().where(planned):
        raise NotFound(f"user {user_id} is not a participant of this action", field="user_id")
    async with write_transaction():
        await ActionParticipant.update(
            {ActionParticipant.removed_at: clock.now(), ActionParticipant.removed_reason: f"removed: {data.reason}"}
        ).where(planned)
        await append_case_event(
            principal=principal,
            event="action.participant_removed",
            case_id=action.case_id,
            action_id=action_id,
            details={"user_id": str(user_id), "reason": data.reason},
        )
    return await action_out(action)
