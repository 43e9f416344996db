"""Recusal (R-RCS): declarations before each action and recusal requests on a case.

Declarations are immutable: one per person per action, never updated or deleted. A declared
conflict, or an upheld request, removes the person from the case: its officers, the
actions not yet closed, and (through ``blocked_reason``) decision and collective discussion.
"""

from __future__ import annotations

import uuid
from uuid import UUID

import msgspec
from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.access import Rule
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.field import rules, schemas
from backend.field.relations import case_for
from backend.field.rows import ActionRow
from backend.field.tables import Action, ActionParticipant, CaseOfficer, RecusalDeclaration, RecusalRequest
from backend.ledger.service import append_case_event


class RecusalAlreadyDeclared(Conflict):
    slug = "recusal-already-declared"
    title = "A recusal declaration is immutable"


class _RequestState(msgspec.Struct, kw_only=True):
    status: str
    ground: str


async def blocked_reason(*, case_id: UUID, user_id: UUID) -> str:
    """Why this person may not act on the case (R-RCS-4), or '' when nothing blocks them.

    The decisions area calls this for handlers, reviewers, approvers and discussion members.
    """
    conflict = await (
        RecusalDeclaration.select(RecusalDeclaration.ground)
        .where(
            (RecusalDeclaration.case == case_id) & (RecusalDeclaration.user == user_id) & (RecusalDeclaration.conflict == True)  # noqa: E712
        )
        .limit(1)
        .output(as_list=True)
    )
    if conflict:
        return f"declared a conflict ({conflict[0]})"
    requests = await fetch_all(
        _RequestState,
        RecusalRequest.select(RecusalRequest.status, RecusalRequest.ground).where(
            (RecusalRequest.case == case_id) & (RecusalRequest.target_user == user_id)
        ),
    )
    for request in requests:
        if request.status == "pending":
            return f"a recusal request ({request.ground}) awaits decision"
        if request.status == "upheld":
            return f"recused by decision ({request.ground})"
    return ""


# Built once: the response body read straight from the row (aliases are deep copies).
_DECLARATION_COLUMNS = (
    RecusalDeclaration.id,
    RecusalDeclaration.case.as_alias("case_id"),
    RecusalDeclaration.action.as_alias("action_id"),
    RecusalDeclaration.user.as_alias("user_id"),
    RecusalDeclaration.conflict,
    RecusalDeclaration.ground,
    RecusalDeclaration.statement,
    RecusalDeclaration.server_time,
    RecusalDeclaration.device_time,
)


async def _declaration(where: Combinable) -> schemas.RecusalOut | None:
    return await fetch_one(schemas.RecusalOut, RecusalDeclaration.select(*_DECLARATION_COLUMNS).where(where))


def _check_ground(data: schemas.RecusalIn) -> None:
    # R-RCS-1: a conflict names one of the three grounds; "no conflict" names none.
    if data.conflict and data.ground is None:
        raise InvalidInput("a declared conflict must name its ground", field="ground")
    if not data.conflict and data.ground is not None:
        raise InvalidInput("a no-conflict declaration names no ground", field="ground")


async def declare(*, principal: Principal, action: ActionRow, data: schemas.RecusalIn) -> schemas.RecusalOut:
    """The caller's declaration for this action (the caller must be on the action; checked by the caller)."""
    _check_ground(data)
    existing = await _declaration(RecusalDeclaration.id == data.id)
    if existing is not None:
        if existing.user_id != principal.user_id or existing.action_id != action.id:
            raise Conflict(f"declaration {data.id} belongs to another action or person", field="id")
        return existing
    earlier = await (
        RecusalDeclaration.select(RecusalDeclaration.id)
        .where((RecusalDeclaration.action == action.id) & (RecusalDeclaration.user == principal.user_id))
        .limit(1)
        .output(as_list=True)
    )
    if earlier:
        raise RecusalAlreadyDeclared(f"you already declared for this action ({earlier[0]}); declarations are immutable")
    async with write_transaction():
        with unique_as(f"declaration {data.id} already exists", field="id"):
            await RecusalDeclaration.insert(
                RecusalDeclaration(
                    id=data.id,
                    case=action.case_id,
                    action=action.id,
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
            case_id=action.case_id,
            action_id=action.id,
            subject_type="recusal",
            subject_id=data.id,
            details={"conflict": data.conflict, "ground": data.ground},
        )
        if data.conflict:
            await _remove_from_case(
                principal, case_id=action.case_id, user_id=principal.user_id, reason=f"declared conflict: {data.ground}"
            )
    declared = await _declaration(RecusalDeclaration.id == data.id)
    assert declared is not None
    return declared


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
    query = RecusalDeclaration.select(*_DECLARATION_COLUMNS).where(RecusalDeclaration.case == case_id)
    if action_id is not None:
        query = query.where(RecusalDeclaration.action == action_id)
    return await fetch_all(schemas.RecusalOut, query.order_by(RecusalDeclaration.server_time))


# --- recusal requests (R-RCS-4) ---------------------------------------------------------


# Built once: the response body read straight from the row (aliases are deep copies).
_REQUEST_COLUMNS = (
    RecusalRequest.id,
    RecusalRequest.case.as_alias("case_id"),
    RecusalRequest.target_user.as_alias("target_user_id"),
    RecusalRequest.raised_by_kind,
    RecusalRequest.raised_by_name,
    RecusalRequest.ground,
    RecusalRequest.reasons,
    RecusalRequest.status,
    RecusalRequest.decided_by,
    RecusalRequest.decision_reasons,
    RecusalRequest.decided_at,
    RecusalRequest.created_at,
)


async def _request(where: Combinable) -> schemas.RecusalRequestOut | None:
    return await fetch_one(schemas.RecusalRequestOut, RecusalRequest.select(*_REQUEST_COLUMNS).where(where))


async def _case(principal: Principal, case_id: UUID, rule: Rule, purpose: str | None = None) -> None:
    """The case, where the caller holds a part ``rule`` admits (else 404 / 403)."""
    await case_for(principal=principal, case_id=case_id, rule=rule, purpose=purpose)


async def raise_request(*, principal: Principal, case_id: UUID, data: schemas.RecusalRequestIn) -> schemas.RecusalRequestOut:
    """Record a ground raised by anyone (a party, an officer); the person is blocked until decided."""
    await _case(principal, case_id, rules.RECUSAL_REQUEST)
    if not await CaseOfficer.exists().where((CaseOfficer.case == case_id) & (CaseOfficer.user == data.target_user_id)):
        raise NotFound(f"user {data.target_user_id} is not an officer of this case", field="target_user_id")
    request_id = data.id or uuid.uuid4()
    existing = await _request(RecusalRequest.id == request_id)
    if existing is not None:
        if existing.case_id != case_id:
            raise Conflict(f"request {request_id} belongs to another case", field="id")
        return existing
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
    raised = await _request(RecusalRequest.id == request_id)
    assert raised is not None
    return raised


async def decide_request(
    *, principal: Principal, case_id: UUID, request_id: UUID, data: schemas.RecusalDecisionIn
) -> schemas.RecusalRequestOut:
    """Decided with reasons by the responsible person: a supervisor, or an admin (agency head)
    when the supervisor is the one challenged (R-RCS-4)."""
    await _case(principal, case_id, rules.RECUSAL_DECIDE)
    request = await _request((RecusalRequest.id == request_id) & (RecusalRequest.case == case_id))
    if request is None:
        raise NotFound(f"recusal request {request_id} not found")
    if request.target_user_id == principal.user_id:
        raise Conflict("a person cannot decide a recusal request against themselves")
    if request.status != "pending":
        raise Conflict(f"the request was already decided ({request.status})")
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
                principal, case_id=case_id, user_id=request.target_user_id, reason=f"recusal upheld: {request.ground}"
            )
    decided = await _request(RecusalRequest.id == request_id)
    assert decided is not None
    return decided


async def list_requests(*, principal: Principal, case_id: UUID, purpose: str | None = None) -> list[schemas.RecusalRequestOut]:
    await _case(principal, case_id, rules.CASE_READ, purpose)
    query = RecusalRequest.select(*_REQUEST_COLUMNS).where(RecusalRequest.case == case_id)
    return await fetch_all(schemas.RecusalRequestOut, query.order_by(RecusalRequest.created_at))
