"""What the decisions area reads of a case (owned by the field workflow).

Reads the case through its service (agency scoping → 404), its officers and recusal
records; the one write (filing the issued decision and moving the case on) goes through
the field workflow's own service functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec

from backend.core.access import Rule
from backend.core.auth import Principal
from backend.core.errors import Conflict
from backend.core.rows import fetch_all
from backend.decisions import conditions
from backend.decisions.rules import READ
from backend.decisions.tables import DecisionDeclaration
from backend.field import cases as field
from backend.field import recusal, stages
from backend.field.schemas import StageAdvanceIn
from backend.field.tables import RecusalDeclaration


class RecusalMissing(Conflict):
    slug = "recusal-missing"
    title = "A recusal declaration is missing or the person is blocked on this case"


class CaseOfficer(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    role: str
    function: str


class CaseFacts(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    agency_id: UUID
    reference: str
    stage: str
    officers: tuple[CaseOfficer, ...]

    def functions_of(self, user_id: UUID) -> set[str]:
        return {o.function for o in self.officers if o.user_id == user_id}

    @property
    def lead_ids(self) -> set[UUID]:
        return {o.user_id for o in self.officers if o.role in ("lead", "co_lead")}

    @property
    def handler_ids(self) -> set[UUID]:
        return {o.user_id for o in self.officers}


class _Declared(msgspec.Struct, kw_only=True):
    conflict: bool
    ground: str


async def read(*, principal: Principal, case_id: UUID, rule: Rule = READ) -> CaseFacts:
    """The case, where the caller holds a part ``rule`` admits (another agency's case is a 404)."""
    case = await field.get_case(principal=principal, case_id=case_id, rule=rule)
    officers = tuple(CaseOfficer(user_id=o.user_id, role=o.role, function=o.function) for o in case.officers if not o.removed)
    return CaseFacts(id=case.id, agency_id=case.agency_id, reference=case.reference, stage=case.stage, officers=officers)


async def recusal_problem(*, case_id: UUID, user_id: UUID) -> str:
    """Why this person may not act on the case (R-RCS-2/3/4), or '' when they may.

    A declaration counts from the field workflow (per action) or from this area (case-level,
    for handlers, reviewers, approvers and discussion members).
    """
    in_field = await RecusalDeclaration.count().where((RecusalDeclaration.case == case_id) & (RecusalDeclaration.user == user_id))
    own = await fetch_all(
        _Declared,
        DecisionDeclaration.select(DecisionDeclaration.conflict, DecisionDeclaration.ground).where(
            (DecisionDeclaration.case_id == case_id) & (DecisionDeclaration.user == user_id)
        ),
    )
    if not in_field and not own:
        return f"user {user_id} has not declared on the recusal grounds for this case"
    conflict = next((d for d in own if d.conflict), None)
    if conflict is not None:
        return f"user {user_id} declared a conflict ({conflict.ground})"
    blocked = await recusal.blocked_reason(case_id=case_id, user_id=user_id)
    return f"user {user_id} is blocked: {blocked}" if blocked else ""


async def declaration_conditions(*, case_id: UUID, user_ids: Iterable[UUID], as_what: str) -> list[conditions.Missing]:
    """One ``recusal-missing`` item per person who has not declared or is blocked (R-RCS-2..5)."""
    found: list[conditions.Missing] = []
    for user_id in sorted(set(user_ids)):
        problem = await recusal_problem(case_id=case_id, user_id=user_id)
        if problem:
            found.append(conditions.of(RecusalMissing, f"{as_what}: {problem}", user_id=user_id))
    return found


async def require_declared(*, case_id: UUID, user_ids: Iterable[UUID], as_what: str) -> None:
    problems = await declaration_conditions(case_id=case_id, user_ids=user_ids, as_what=as_what)
    if problems:
        raise RecusalMissing("; ".join(p.detail for p in problems))


async def move_to_service_and_execution(*, principal: Principal, case_id: UUID, decision_no: str) -> None:
    """File the decision as the stage record (R-REC-1), then enter service & execution."""
    await stages.file_decision(principal=principal, case_id=case_id, title=f"处罚决定书 {decision_no}")
    await stages.advance_stage(principal=principal, case_id=case_id, data=StageAdvanceIn(to_stage="service_execution"))
