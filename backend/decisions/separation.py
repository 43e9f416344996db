"""Separation of functions on a decision (R-DISC-8): the person's other functions on the
case; an agency in ``block`` mode refuses, one in ``warn`` mode records the warning on the
decision.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.core.auth import Principal
from backend.core.rows import fetch_all
from backend.decisions.case_facts import CaseFacts
from backend.decisions.tables import Decision, DecisionRole
from backend.field.cases import SeparationOfFunctions
from backend.org import service as org_service

# Functions a person took on through this decision itself (R-DISC-8).
_ROLE_FUNCTIONS = {"hearing_host": "hearing", "approver": "decision"}


class _Role(msgspec.Struct, kw_only=True):
    role: str


async def of_caller(*, principal: Principal, case: CaseFacts, function: str, decision_id: UUID) -> list[str]:
    return await of_person(
        user_id=principal.user_id,
        name=principal.username,
        principal=principal,
        case=case,
        function=function,
        decision_id=decision_id,
    )


async def of_person(
    *, user_id: UUID, name: str, principal: Principal, case: CaseFacts, function: str, decision_id: UUID
) -> list[str]:
    """R-DISC-8: the person's other functions on the case; `block` refuses, `warn` reports."""
    roles = await fetch_all(
        _Role,
        DecisionRole.select(DecisionRole.role).where((DecisionRole.decision == decision_id) & (DecisionRole.user == user_id)),
    )
    functions = case.functions_of(user_id) | {_ROLE_FUNCTIONS[r.role] for r in roles if r.role in _ROLE_FUNCTIONS}
    if user_id in case.lead_ids:
        functions.add("investigation")
    held = sorted(functions - {function})
    if not held:
        return []
    message = f"{name} would act as {function} on case {case.reference} while holding {', '.join(held)}"
    agency = await org_service.get_agency(agency_id=principal.agency_id)
    if agency.separation_mode == "block":
        raise SeparationOfFunctions(message)
    return [message]


async def add_warnings(decision_id: UUID, existing: list[str], warnings: list[str]) -> None:
    """Keep the decision's warnings, in order and without repeats."""
    if warnings:
        merged = list(dict.fromkeys([*existing, *warnings]))
        await Decision.update({Decision.separation_warnings: merged}).where(Decision.id == decision_id)
