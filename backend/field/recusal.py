"""Recusal (R-RCS): declarations before each action and recusal requests on a case.

Declarations are immutable: one per person per action, never updated or deleted. A declared
conflict, or an upheld request, removes the person from the case: its officers, the
actions not yet closed, and (through ``blocked_reason``) decision and collective discussion.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.field import schemas
from backend.field.tables import Action, ActionParticipant, Case, CaseOfficer, RecusalDeclaration, RecusalRequest
from backend.ledger.service import append_case_event


class RecusalAlreadyDeclared(Conflict):
    slug = "recusal-already-declared"
    title = "A recusal declaration is immutable"


async def blocked_reason(*, case_id: UUID, user_id: UUID) -> str:
    """Why this person may not act on the case (R-RCS-4), or '' when nothing blocks them.

    The decisions area calls this for handlers, reviewers, approvers and discussion members.
    """
    conflict = (
        await RecusalDeclaration.select(RecusalDeclaration.ground)
        .where(
            (RecusalDeclaration.case == case_id) & (RecusalDeclaration.user == user_id) & (RecusalDeclaration.conflict == True)  # noqa: E712
        )
        .first()
    )
    if conflict is not None:
        return f"declared a conflict ({conflict['ground']})"
    requests = await RecusalRequest.select(RecusalRequest.status, RecusalRequest.ground).where(
        (RecusalRequest.case == case_id) & (RecusalRequest.target_user == user_id)
    )
    for request in requests:
        if request["status"] == "pending":
            return f"a recusal request ({request['ground']}) awaits decision"
        if request["status"] == "upheld":
            return f"recused by decision ({request['ground']})"
    return ""


def _declaration_out(row: dict[str, Any]) -> schemas.RecusalOut:
    return schemas.RecusalOut(
        id=row["id"],
        case_id=row["case"],
        action_id=row["action"],
        user_id=row["user"],
        conflict=bool(row["conflict"]),
        ground=row["ground"],
        statement=row["statement"],
        server_time=clock.as_utc(row["server_time"]),
        device_time=clock.as_utc(row["device_time"]) if row["device_time"] else None,
    )


def _check_ground(data: schemas.RecusalIn) -> None:
    # R-RCS-1: a conflict names one of the three grounds; "no conflict" names none.
    if data.conflict and data.ground is None:
        raise InvalidInput("a declared conflict must name its ground", field="ground")
    if not data.conflict and data.ground is not None:
        raise InvalidInput("a no-conflict declaration names no ground", field="ground")


async def declare(*, principal: Principal, action: dict[str, Any], data: schemas.RecusalIn) -> schemas.RecusalOut:
    """The caller's declaration for this action (the caller must be on the action; checked by the caller)."""
    _check_ground(data)
    existing = await RecusalDeclaration.select().where(RecusalDeclaration.id == data.id).first()
    if existing is not None:
        if existing["user"] != principal.user_id or existing["action"] != action["id"]:
            raise Conflict(f"declaration {data.id} belongs to another action or person", field="id")
        return _declaration_out(existing)
    earlier = (
        await RecusalDeclaration.select(RecusalDeclaration.id)
        .where((RecusalDeclaration.action == action["id"]) & (RecusalDeclaration.user == principal.user_id))
        .first()
    )
    if earlier is not None:
        raise RecusalAlreadyDeclared(f"you already declared for this action ({earlier['id']}); declarations are immutable")
    async with write_transaction():
        with unique_as(f"declaration {data.id} already exists", field="id"):
            await RecusalDeclaration.insert(
                RecusalDeclaration(
                    id=data.id,
                    case=action["case"],
                    action=action["id"],
                    user=principal.user_id,
                    conflict=data.conflict,
                    ground=data.ground or "",
                    statement=data.statement,
                    server_time=clock.now(),
                    device_time=data.device_time,
                )
            )
        await append_case_event(
            principal=principal,
            event="recusal.declared",
            case_id=action["case"],
            action_id=action["id"],
            subject_type="recusal",
            subject_id=data.id,
            details={"conflict": data.conflict, "ground": data.ground},
        )
        if data.conflict:
            await _remove_from_case(
                principal, case_id=action["case"], user_id=principal.user_id, reason=f"declared conflict: {data.ground}"
            )
    row = await RecusalDeclaration.select().where(RecusalDeclaration.id == data.id).first()
    assert row is not None
    return _declaration_out(row)


async def _remove_from_case(principal: Principal, *, case_id: UUID, user_id: UUID, reason: str) -> None:
    """R-RCS-4: off the case's officers and every action not yet closed."""
    now = clock.now()
    await CaseOfficer.update({CaseOfficer.removed_at: now, CaseOfficer.removed_reason: reason}).where(
        (CaseOfficer.case == case_id) & (CaseOfficer.user == user_id) & CaseOfficer.removed_at.is_null()
    )
    open_actions = Action.select(Action.id).where((Action.case == case_id) & (Action.state != "closed"))
    await ActionParticipant.update({ActionParticipant.removed_at: now, ActionParticipant.removed_reason: reason}).where(
        (ActionParticipant.user == user_id)
        & ActionParticipant.removed_at.is_null()
        & ActionParticipant.action.is_in(open_actions)
    )
    await append_case_event(
        principal=principal, event="recusal.removed", case_id=case_id, details={"user_id": str(user_id), "reason": reason}
    )


async def list_declarations(*, case_id: UUID, action_id: UUID | None = None) -> list[schemas.RecusalOut]:
    """R-RCS-5: shown to legal reviewers (the caller has scoped the case)."""
    query = RecusalDeclaration.select().where(RecusalDeclaration.case == case_id)
    if action_id is not None:
        query = query.where(RecusalDeclaration.action == action_id)
    return [_declaration_out(r) for r in await query.order_by(RecusalDeclaration.server_time)]


# --- recusal requests (R-RCS-4) ---------------------------------------------------------


def _request_out(row: dict[str, Any]) -> schemas.RecusalRequestOut:
    return schemas.RecusalRequestOut(
        id=row["id"],
        case_id=row["case"],
        target_user_id=row["target_user"],
        raised_by_kind=row["raised_by_kind"],
        raised_by_name=row["raised_by_name"],
        ground=row["ground"],
        reasons=row["reasons"],
        status=row["status"],
        decided_by=row["decided_by"],
        decision_reasons=row["decision_reasons"],
        decided_at=clock.as_utc(row["decided_at"]) if row["decided_at"] else None,
        created_at=clock.as_utc(row["created_at"]),
    )


async def _case(principal: Principal, case_id: UUID) -> dict[str, Any]:
    row = await Case.select().where((Case.id == case_id) & (Case.agency == principal.agency_id)).first()
    if row is None:
        raise NotFound(f"case {case_id} not found")
    return row


async def raise_request(*, principal: Principal, case_id: UUID, data: schemas.RecusalRequestIn) -> schemas.RecusalRequestOut:
    """Record a ground raised by anyone (a party, an officer); the person is blocked until decided."""
    await _case(principal, case_id)
    officer = (
        await CaseOfficer.select(CaseOfficer.id)
        .where((CaseOfficer.case == case_id) & (CaseOfficer.user == data.target_user_id))
        .first()
    )
    if officer is None:
        raise NotFound(f"user {data.target_user_id} is not an officer of this case", field="target_user_id")
    request_id = data.id or uuid.uuid4()
    existing = await RecusalRequest.select().where(RecusalRequest.id == request_id).first()
    if existing is not None:
        if existing["case"] != case_id:
            raise Conflict(f"request {request_id} belongs to another case", field="id")
        return _request_out(existing)
    async with write_transaction():
        await RecusalRequest.insert(
            RecusalRequest(
                id=request_id,
                case=case_id,
                target_user=data.target_user_id,
                raised_by_kind=data.raised_by_kind,
                raised_by_name=data.raised_by_name,
                ground=data.ground,
                reasons=data.reasons,
                recorded_by=principal.user_id,
                created_at=clock.now(),
            )
        )
        await append_case_event(
            principal=principal,
            event="recusal.requested",
            case_id=case_id,
            subject_type="recusal_request",
            subject_id=request_id,
            details={"target_user_id": str(data.target_user_id), "ground": data.ground, "raised_by_kind": data.raised_by_kind},
        )
    row = await RecusalRequest.select().where(RecusalRequest.id == request_id).first()
    assert row is not None
    return _request_out(row)


async def decide_request(
    *, principal: Principal, case_id: UUID, request_id: UUID, data: schemas.RecusalDecisionIn
) -> schemas.RecusalRequestOut:
    """Decided with reasons by the responsible person: a supervisor, or an admin (agency head)
    when the supervisor is the one challenged (R-RCS-4)."""
    principal.require("supervisor", "admin")
    await _case(principal, case_id)
    row = await RecusalRequest.select().where((RecusalRequest.id == request_id) & (RecusalRequest.case == case_id)).first()
    if row is None:
        raise NotFound(f"recusal request {request_id} not found")
    if row["target_user"] == principal.user_id:
        raise Conflict("a person cannot decide a recusal request against themselves")
    if row["status"] != "pending":
        raise Conflict(f"the request was already decided ({row['status']})")
    status = "upheld" if data.upheld else "rejected"
    async with write_transaction():
        await RecusalRequest.update(
            {
                RecusalRequest.status: status,
                RecusalRequest.decided_by: principal.user_id,
                RecusalRequest.decision_reasons: data.reasons,
                RecusalRequest.decided_at: clock.now(),
            }
        ).where((RecusalRequest.id == request_id) & (RecusalRequest.status == "pending"))
        await append_case_event(
            principal=principal,
            event="recusal.decided",
            case_id=case_id,
            subject_type="recusal_request",
            subject_id=request_id,
            details={"status": status, "reasons": data.reasons},
        )
        if data.upheld:
            await _remove_from_case(
                principal, case_id=case_id, user_id=row["target_user"], reason=f"recusal upheld: {row['ground']}"
            )
    updated = await RecusalRequest.select().where(RecusalRequest.id == request_id).first()
    assert updated is not None
    return _request_out(updated)


async def list_requests(*, principal: Principal, case_id: UUID) -> list[schemas.RecusalRequestOut]:
    await _case(principal, case_id)
    rows = await RecusalRequest.select().where(RecusalRequest.case == case_id).order_by(RecusalRequest.created_at)
    return [_request_out(r) for r in rows]
