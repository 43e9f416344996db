"""Case-level recusal declarations for the decision roles (R-RCS-1/3): handler, reviewer,
approver or discussion member, each declared once and never changed.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, InvalidInput
from backend.core.rows import fetch_all, fetch_one
from backend.decisions import case_facts, schemas
from backend.decisions.rules import DECLARE
from backend.decisions.tables import DecisionDeclaration
from backend.ledger.service import append_case_event

_DECLARATION_COLUMNS = (
    DecisionDeclaration.id,
    DecisionDeclaration.case_id,
    DecisionDeclaration.user.as_alias("user_id"),
    DecisionDeclaration.capacity,
    DecisionDeclaration.conflict,
    DecisionDeclaration.ground,
    DecisionDeclaration.statement,
    DecisionDeclaration.declared_at,
)


async def declare_recusal(*, principal: Principal, case_id: UUID, data: schemas.DeclarationIn) -> schemas.DeclarationOut:
    """The caller declares on the three grounds for a decision role on the case; immutable."""
    case = await case_facts.read(principal=principal, case_id=case_id, rule=DECLARE)
    if data.conflict != (data.ground is not None):
        # R-RCS-1: a conflict names its ground; "no conflict" names none.
        raise InvalidInput("a declared conflict names its ground, and only a conflict does", field="ground")
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
    query = DecisionDeclaration.select(*_DECLARATION_COLUMNS).where(DecisionDeclaration.id == declaration_id)
    declaration = await fetch_one(schemas.DeclarationOut, query)
    assert declaration is not None
    return declaration


async def list_declarations(*, principal: Principal, case_id: UUID) -> list[schemas.DeclarationOut]:
    case = await case_facts.read(principal=principal, case_id=case_id)
    query = (
        DecisionDeclaration.select(*_DECLARATION_COLUMNS)
        .where(DecisionDeclaration.case_id == case.id)
        .order_by(DecisionDeclaration.declared_at)
    )
    return await fetch_all(schemas.DeclarationOut, query)
