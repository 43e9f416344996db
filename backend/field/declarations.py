"""Declaring on a case before becoming its handler (R-RCS-2).

No one becomes a lead (主办) or assisting (协办) officer of a case without a signed declaration
on the three grounds (R-RCS-1) for that case: the lead declares in the request that opens the
case, anyone else on the case itself before a supervisor assigns them (issue 14, found #9).
A case-level declaration is a ``RecusalDeclaration`` without an action: immutable, one per
person and case, ledgered; a declared conflict blocks the person (``recusal.blocked_reason``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, InvalidInput
from backend.core.rows import fetch_one
from backend.field import rules, schemas
from backend.field.recusal import RecusalAlreadyDeclared
from backend.field.relations import case_for
from backend.field.tables import RecusalDeclaration
from backend.ledger.service import append_case_event


class RecusalNotDeclared(Conflict):
    slug = "recusal-not-declared"
    title = "A handler declares on the recusal grounds before being assigned"


_COLUMNS = (
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
    return await fetch_one(schemas.RecusalOut, RecusalDeclaration.select(*_COLUMNS).where(where))


def _check_ground(data: schemas.CaseDeclarationIn) -> None:
    # R-RCS-1: a conflict names one of the three grounds; "no conflict" names none.
    if data.conflict != (data.ground is not None):
        raise InvalidInput("a declared conflict names its ground, and only a conflict does", field="ground")


def opening_missing(
    principal: Principal, officers: Sequence[schemas.OfficerAssignmentIn], declaration: schemas.CaseDeclarationIn | None
) -> list[dict[str, Any]]:
    """Every officer of a case being opened who has not declared (the case has no one else's yet)."""
    if declaration is not None:
        _check_ground(declaration)
    missing: list[dict[str, Any]] = []
    for officer in officers:
        if officer.user_id != principal.user_id:
            missing.append(
                {
                    "code": "recusal_declaration",
                    "user_id": str(officer.user_id),
                    "detail": "declares on the case before being assigned: open it without them, then assign them",
                }
            )
        elif declaration is None:
            missing.append(
                {"code": "recusal_declaration", "user_id": str(officer.user_id), "detail": "no declaration in the request"}
            )
        elif declaration.conflict:
            conflict = f"declared a conflict ({declaration.ground})"
            missing.append({"code": "recusal_conflict", "user_id": str(officer.user_id), "detail": conflict})
    return missing


def refuse_if_missing(missing: list[dict[str, Any]]) -> None:
    if missing:
        details = "; ".join(f"{m['user_id']}: {m['detail']}" for m in missing)
        raise RecusalNotDeclared(f"R-RCS-2: every handler declares before being assigned — {details}", missing=missing)


async def insert_declaration(principal: Principal, case_id: UUID, data: schemas.CaseDeclarationIn) -> UUID:
    """Store the caller's case-level declaration and its ledger entry (inside the caller's transaction)."""
    declaration_id = data.id or uuid.uuid4()
    with unique_as(f"declaration {declaration_id} already exists", field="id"):
        await RecusalDeclaration.insert(
            RecusalDeclaration(
                id=declaration_id,
                case=case_id,
                action=None,
                user=principal.user_id,
                conflict=data.conflict,
                ground=data.ground or "",
                statement=data.statement,
                server_time=clock.now(),
            )
        )
    await append_case_event(
        principal=principal,
        event="recusal.declared",
        case_id=case_id,
        subject_type="recusal",
        subject_id=declaration_id,
        details={"conflict": data.conflict, "ground": data.ground, "scope": "case"},
    )
    return declaration_id


async def declare_on_case(*, principal: Principal, case_id: UUID, data: schemas.CaseDeclarationIn) -> schemas.RecusalOut:
    """The caller declares on the case (R-RCS-1/2), e.g. before a supervisor assigns them."""
    _check_ground(data)
    await case_for(principal=principal, case_id=case_id, rule=rules.CASE_DECLARE)
    mine = (RecusalDeclaration.case == case_id) & (RecusalDeclaration.user == principal.user_id)
    earlier = await _declaration(mine & RecusalDeclaration.action.is_null())
    if earlier is not None:
        if data.id is not None and earlier.id == data.id:
            return earlier  # a retried request
        raise RecusalAlreadyDeclared(f"you already declared on this case ({earlier.id}); declarations are immutable")
    async with write_transaction():
        declaration_id = await insert_declaration(principal, case_id, data)
    declared = await _declaration(RecusalDeclaration.id == declaration_id)
    assert declared is not None
    return declared


async def ensure_declared(*, case_id: UUID, user_id: UUID) -> None:
    """R-RCS-2: the person declared no conflict on this case before being assigned to it."""
    declared = await RecusalDeclaration.exists().where(
        (RecusalDeclaration.case == case_id) & (RecusalDeclaration.user == user_id) & (RecusalDeclaration.conflict == False)  # noqa: E712
    )
    if not declared:
        refuse_if_missing([{"code": "recusal_declaration", "user_id": str(user_id), "detail": "has not declared on this case"}])
