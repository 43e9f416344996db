"""The caller's parts in a case or action (backend/core/access.py), and the one way in to them.

``case_for`` / ``action_for`` find the object, compute the caller's parts, authorize the rule
and, when the caller reads across agencies by right (the entrusting agency, R-AGY-6; the
Justice Bureau, R-SUP-2), ledger the read with its purpose before answering. Another
agency's object the caller holds no part in is a 404, never a 403.
"""

from __future__ import annotations

from uuid import UUID

from backend.core.access import Part, Rule, agency_parts, authorize, foreign_parts
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.rows import fetch_one
from backend.field.rows import ActionRow, CaseRow
from backend.field.tables import Action, ActionParticipant, Case, CaseOfficer
from backend.ledger.service import append_case_event


async def is_handler(*, case_id: UUID, user_id: UUID) -> bool:
    """A lead or assisting officer of the case not removed from it."""
    return bool(
        await CaseOfficer.exists().where(
            (CaseOfficer.case == case_id) & (CaseOfficer.user == user_id) & CaseOfficer.removed_at.is_null()
        )
    )


async def is_participant(*, action_id: UUID, user_id: UUID) -> bool:
    return bool(
        await ActionParticipant.exists().where(
            (ActionParticipant.action == action_id) & (ActionParticipant.user == user_id) & ActionParticipant.removed_at.is_null()
        )
    )


async def case_parts(principal: Principal, case: CaseRow) -> frozenset[Part]:
    if case.agency_id == principal.agency_id:
        parts = set(agency_parts(principal))
        if await is_handler(case_id=case.id, user_id=principal.user_id):
            parts.add(Part.HANDLER)
        return frozenset(parts)
    parts = set(foreign_parts(principal))
    if case.entrustment_id is not None and case.acting_agency_id == principal.agency_id:
        # R-AGY-6: the entrusted body acts in the entrusting agency's name, which supervises it.
        parts.add(Part.ENTRUSTING)
    return frozenset(parts)


async def action_parts(principal: Principal, case: CaseRow, action: ActionRow) -> frozenset[Part]:
    parts = await case_parts(principal, case)
    # A participant acts only while also a handler of the case (a recusal removes both).
    if Part.HANDLER in parts and await is_participant(action_id=action.id, user_id=principal.user_id):
        return parts | {Part.PARTICIPANT}
    return parts


async def _ledger_foreign_read(
    principal: Principal, case: CaseRow, found: Rule, purpose: str | None, action_id: UUID | None
) -> None:
    if case.agency_id == principal.agency_id or found.writes:
        return
    # R-SUP-2 / R-AGY-6: a read across agencies is audit-logged with why it was made.
    await append_case_event(
        principal=principal,
        event="oversight.read",
        case_id=case.id,
        action_id=action_id,
        details={"rule": found.name, "purpose": (purpose or "").strip() or found.purpose, "owner_agency_id": str(case.agency_id)},
    )


async def case_for(*, principal: Principal, case_id: UUID, rule: Rule, purpose: str | None = None) -> CaseRow:
    """The case, if the caller holds a part the rule admits (404 / 403 otherwise)."""
    case = await fetch_one(CaseRow, Case.select().where(Case.id == case_id))
    if case is None:
        raise NotFound(f"case {case_id} not found")
    authorize(await case_parts(principal, case), rule, hidden=f"case {case_id}")
    await _ledger_foreign_read(principal, case, rule, purpose, None)
    return case


async def action_for(
    *, principal: Principal, action_id: UUID, rule: Rule, purpose: str | None = None
) -> tuple[CaseRow, ActionRow]:
    """The action and its case, if the caller holds a part the rule admits (404 / 403 otherwise)."""
    action = await fetch_one(ActionRow, Action.select().where(Action.id == action_id))
    case = await fetch_one(CaseRow, Case.select().where(Case.id == action.case_id)) if action is not None else None
    if action is None or case is None:
        raise NotFound(f"action {action_id} not found")
    authorize(await action_parts(principal, case, action), rule, hidden=f"action {action_id}")
    await _ledger_foreign_read(principal, case, rule, purpose, action_id)
    return case, action
