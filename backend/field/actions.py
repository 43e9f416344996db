"""On-site actions: reading them, planning them and who takes part (R-AGY-1, R-RCS-4).

What happens on site lives beside this module: ``check_in.py`` (R-CERT-4/5), ``recording.py``
(R-REC-3), ``transitions.py`` (the start gate, start/end/close, R-DISC-6) and ``gaps.py``
(video coverage and gap reasons, R-REC-4).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.field import action_schemas, execution_basis, rules
from backend.field.cases import active_officer_ids, ensure_not_archived
from backend.field.entrusted import ensure_entrusted_act
from backend.field.recusal import blocked_reason
from backend.field.relations import action_for, case_for
from backend.field.rows import ActionRow
from backend.field.rules import NotAssigned
from backend.field.schemas import GeoPoint
from backend.field.tables import Action, ActionParticipant, ActionTransition, CaseOfficer
from backend.ledger.service import append_case_event
from backend.org import service as org_service


class _ParticipantRow(msgspec.Struct, kw_only=True, rename={"user_id": "user"}):
    user_id: UUID
    removed_at: datetime | None
    removed_reason: str


class _TransitionRow(msgspec.Struct, kw_only=True, rename={"by_user_id": "by_user"}):
    from_state: str
    to_state: str
    server_time: datetime
    device_time: datetime | None
    skew_s: float | None
    skew_flagged: bool
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    by_user_id: UUID


# --- reading ----------------------------------------------------------------------------


async def action_row(*, principal: Principal, action_id: UUID) -> ActionRow:
    row = await fetch_one(ActionRow, Action.select().where((Action.id == action_id) & (Action.agency == principal.agency_id)))
    if row is None:
        raise NotFound(f"action {action_id} not found")
    return row


async def active_participants(action_id: UUID) -> list[UUID]:
    return list(
        await ActionParticipant.select(ActionParticipant.user)
        .where((ActionParticipant.action == action_id) & ActionParticipant.removed_at.is_null())
        .output(as_list=True)
    )


def _transition_out(row: _TransitionRow) -> action_schemas.TransitionOut:
    location = None
    if row.latitude is not None and row.longitude is not None and row.accuracy_m is not None:
        location = GeoPoint(latitude=row.latitude, longitude=row.longitude, accuracy_m=row.accuracy_m)
    return msgspec.convert({**msgspec.structs.asdict(row), "location": location}, action_schemas.TransitionOut)


async def action_out(row: ActionRow) -> action_schemas.ActionOut:
    participants = await fetch_all(
        _ParticipantRow,
        ActionParticipant.select().where(ActionParticipant.action == row.id).order_by(ActionParticipant.added_at),
    )
    transitions = await fetch_all(
        _TransitionRow,
        ActionTransition.select().where(ActionTransition.action == row.id).order_by(ActionTransition.server_time),
    )
    return msgspec.convert(
        {
            **msgspec.structs.asdict(row),
            "participants": [
                action_schemas.ParticipantOut(
                    user_id=p.user_id, removed=p.removed_at is not None, removed_reason=p.removed_reason
                )
                for p in participants
            ],
            "transitions": [_transition_out(t) for t in transitions],
        },
        action_schemas.ActionOut,
    )


async def get_action(*, principal: Principal, action_id: UUID, purpose: str | None = None) -> action_schemas.ActionOut:
    _, row = await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_READ, purpose=purpose)
    return await action_out(row)


async def list_actions(*, principal: Principal, case_id: UUID, purpose: str | None = None) -> list[action_schemas.ActionOut]:
    case = await case_for(principal=principal, case_id=case_id, rule=rules.CASE_READ, purpose=purpose)
    rows = await fetch_all(
        ActionRow,
        Action.select().where((Action.case == case.id) & (Action.agency == case.agency_id)).order_by(Action.planned_at),
    )
    return [await action_out(r) for r in rows]


async def todays_actions(*, principal: Principal) -> list[action_schemas.ActionOut]:
    """The phone's `me` screen: actions the officer takes part in, planned for today (UTC+8)."""
    china = timedelta(hours=8)
    local_midnight = (clock.now() + china).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = local_midnight - china, local_midnight - china + timedelta(days=1)
    rows = await fetch_all(
        ActionRow,
        Action.select().where(
            (Action.agency == principal.agency_id)
            & (Action.planned_at >= start)
            & (Action.planned_at < end)
            & Action.id.is_in(
                ActionParticipant.select(ActionParticipant.action).where(
                    (ActionParticipant.user == principal.user_id) & ActionParticipant.removed_at.is_null()
                )
            )
        ),
    )
    return [await action_out(r) for r in sorted(rows, key=lambda r: r.planned_at)]


def skew(device_time: datetime, server_time: datetime, tolerance_s: int) -> tuple[float, bool]:
    """Device clock minus server clock; beyond the tolerance it is flagged, never trusted."""
    seconds = round((device_time.astimezone(UTC) - server_time).total_seconds(), 3)
    return seconds, abs(seconds) > tolerance_s


def ensure_state(action: ActionRow, allowed: set[str], doing: str) -> None:
    if action.state not in allowed:
        raise IllegalTransition(f"cannot {doing} while the action is {action.state}", state=action.state)


async def ensure_participant(*, principal: Principal, action: ActionRow) -> None:
    """Only officers assigned to the case and on this action may act on it from the phone."""
    # One query answers the usual case (an assigned participant); only a refusal spends two
    # more to say which of the two conditions failed.
    assigned = CaseOfficer.select(CaseOfficer.user).where((CaseOfficer.case == action.case_id) & CaseOfficer.removed_at.is_null())
    if await ActionParticipant.exists().where(
        (ActionParticipant.action == action.id)
        & (ActionParticipant.user == principal.user_id)
        & ActionParticipant.removed_at.is_null()
        & ActionParticipant.user.is_in(assigned)
    ):
        return
    if principal.user_id not in await active_officer_ids(case_id=action.case_id):
        raise NotAssigned("you are not an officer assigned to this case")
    if principal.user_id not in await active_participants(action.id):
        raise NotAssigned("you are not a participant of this action (or were removed by a recusal)")


# --- planning ---------------------------------------------------------------------------


async def create_action(*, principal: Principal, data: action_schemas.ActionIn) -> action_schemas.ActionOut:
    case = await case_for(principal=principal, case_id=data.case_id, rule=rules.ACTION_PLAN)
    ensure_not_archived(case)
    await ensure_entrusted_act(entrustment_id=case.entrustment_id, action_kind=data.kind, at=data.planned_at, field="kind")
    # Found #7: a forced demolition only on an issued, served decision whose periods have run.
    await execution_basis.ensure_basis(case_id=case.id, kind=data.kind, at=data.planned_at)
    agency = await org_service.get_agency(agency_id=principal.agency_id)
    if agency.subject_status != "confirmed":
        raise Conflict(f"agency {agency.code} is not a confirmed enforcement subject (R-AGY-1)")
    action_id = data.id or uuid.uuid4()
    existing = await fetch_one(ActionRow, Action.select().where(Action.id == action_id))
    if existing is not None:
        if existing.agency_id != principal.agency_id:
            raise NotFound(f"action {action_id} not found")
        return await action_out(existing)
    await _check_participants(case_id=data.case_id, user_ids=data.participant_ids)
    now = clock.now()
    async with write_transaction():
        with unique_as(f"action {action_id} already exists", field="id"):
            await Action.insert(
                Action(
                    id=action_id,
                    case=data.case_id,
                    agency=principal.agency_id,
                    kind=data.kind,
                    title=data.title,
                    planned_at=data.planned_at,
                    planned_place=data.planned_place,
                    requires_av=data.kind in action_schemas.MANDATORY_AV_KINDS,
                    coercion_reason=data.coercion_reason,
                    created_by=principal.user_id,
                    created_at=now,
                )
            )
        for user_id in dict.fromkeys(data.participant_ids):
            await ActionParticipant.insert(ActionParticipant(id=uuid.uuid4(), action=action_id, user=user_id, added_at=now))
        await append_case_event(
            principal=principal,
            event="action.planned",
            case_id=data.case_id,
            action_id=action_id,
            details={"kind": data.kind, "participants": [str(u) for u in data.participant_ids]},
        )
    return await get_action(principal=principal, action_id=action_id)


async def _check_participants(*, case_id: UUID, user_ids: Sequence[UUID]) -> None:
    officers = await active_officer_ids(case_id=case_id)
    for user_id in user_ids:
        reason = await blocked_reason(case_id=case_id, user_id=user_id)
        if reason:
            # R-RCS-4: a recused person cannot be put back on the case's actions.
            raise Conflict(f"user {user_id} cannot take part: {reason}", field="participant_ids")
        if user_id not in officers:
            raise InvalidInput(f"user {user_id} is not an officer assigned to the case", field="participant_ids")


async def add_participant(
    *, principal: Principal, action_id: UUID, data: action_schemas.ParticipantIn
) -> action_schemas.ActionOut:
    _, action = await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_ADD_PARTICIPANT)
    ensure_state(action, {"planned", "in_progress"}, "add a participant")
    await _check_participants(case_id=action.case_id, user_ids=[data.user_id])
    if data.user_id in await active_participants(action_id):
        return await action_out(action)
    async with write_transaction():
        await ActionParticipant.insert(
            ActionParticipant(id=uuid.uuid4(), action=action_id, user=data.user_id, added_at=clock.now())
        )
        await append_case_event(
            principal=principal,
            event="action.participant_added",
            case_id=action.case_id,
            action_id=action_id,
            details={"user_id": str(data.user_id)},
        )
    return await get_action(principal=principal, action_id=action_id)
