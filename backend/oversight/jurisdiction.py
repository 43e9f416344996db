"""Jurisdiction disputes between agencies (R-AGY-4).

An agency opens a dispute with another, optionally linked to one of its cases. The parties
have 7 working days from opening (the one calendar: ``backend/org/calendar.py``) to agree on
the competent agency — agreed when both parties consented to the same one. Past the deadline
without agreement the county government decides; it may also designate the competent agency
at any time. Each step is ledgered, with the case named when the dispute has one, so the
outcome is on the case's timeline.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import Part, agency_parts, authorize, foreign_parts
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.field.tables import Case
from backend.ledger.service import append_event
from backend.org import calendar
from backend.org.tables import Agency
from backend.oversight import rules, schemas
from backend.oversight.errors import CountyGovernmentOnly, DisputeState
from backend.oversight.tables import JurisdictionDispute

# R-AGY-4: the parties agree within 7 working days of opening.
AGREEMENT_WORKING_DAYS = 7
_PAGE = 500
Which = Literal["all", "open", "overdue"]

_COLUMNS = (
    JurisdictionDispute.id,
    JurisdictionDispute.opened_by_agency.as_alias("opened_by_agency_id"),
    JurisdictionDispute.counterpart_agency.as_alias("counterpart_agency_id"),
    JurisdictionDispute.case_id,
    JurisdictionDispute.matter,
    JurisdictionDispute.opened_by.as_alias("opened_by_id"),
    JurisdictionDispute.opened_at,
    JurisdictionDispute.agreement_due_at,
    JurisdictionDispute.agreement_due_provisional,
    JurisdictionDispute.status,
    JurisdictionDispute.consents,
    JurisdictionDispute.competent_agency.as_alias("competent_agency_id"),
    JurisdictionDispute.outcome_basis,
    JurisdictionDispute.outcome_by.as_alias("outcome_by_id"),
    JurisdictionDispute.outcome_at,
)


def _out(row: schemas.DisputeOut) -> schemas.DisputeOut:
    overdue = row.status == "open" and clock.now() > row.agreement_due_at
    return msgspec.structs.replace(row, agreement_overdue=overdue)


async def _event(
    row: schemas.DisputeOut | UUID, agency_id: UUID, case_id: UUID | None, event: str, actor: UUID, **details: Any
) -> None:
    await append_event(
        event=f"jurisdiction.{event}",
        actor_id=actor,
        agency_id=agency_id,
        subject_type="jurisdiction_dispute",
        subject_id=str(row if isinstance(row, UUID) else row.id),
        case_id=case_id,
        details=details,
    )


def _parts(principal: Principal, row: schemas.DisputeOut) -> frozenset[Part]:
    if principal.agency_id in (row.opened_by_agency_id, row.counterpart_agency_id):
        return agency_parts(principal)
    return foreign_parts(principal)


async def _dispute(*, principal: Principal, dispute_id: UUID, rule: Any) -> schemas.DisputeOut:
    row = await fetch_one(schemas.DisputeOut, JurisdictionDispute.select(*_COLUMNS).where(JurisdictionDispute.id == dispute_id))
    if row is None:
        raise NotFound(f"jurisdiction dispute {dispute_id} not found")
    parts = _parts(principal, row)
    if not parts:
        raise NotFound(f"jurisdiction dispute {dispute_id} not found")
    authorize(parts, rule, hidden=f"jurisdiction dispute {dispute_id}")
    return _out(row)


async def open_dispute(*, principal: Principal, data: schemas.DisputeIn) -> schemas.DisputeOut:
    authorize(agency_parts(principal), rules.DISPUTE_OPEN)
    if data.counterpart_agency_id == principal.agency_id:
        raise InvalidInput("a jurisdiction dispute is between two agencies", field="counterpart_agency_id")
    if not await Agency.exists().where(Agency.id == data.counterpart_agency_id):
        raise InvalidInput(f"agency {data.counterpart_agency_id} does not exist", field="counterpart_agency_id")
    if data.case_id is not None:
        own = await Case.exists().where((Case.id == data.case_id) & (Case.agency == principal.agency_id))
        if not own:
            raise InvalidInput(f"case {data.case_id} is not a case of your agency", field="case_id")
    now = clock.now()
    due = await calendar.deadline(now, AGREEMENT_WORKING_DAYS, "working")
    dispute_id = uuid.uuid4()
    async with write_transaction():
        await JurisdictionDispute.insert(
            JurisdictionDispute(
                id=dispute_id,
                opened_by_agency=principal.agency_id,
                counterpart_agency=data.counterpart_agency_id,
                case_id=data.case_id,
                matter=data.matter,
                opened_by=principal.user_id,
                opened_at=now,
                agreement_due_at=due.due_at,
                agreement_due_provisional=due.provisional,
            )
        )
        await _event(
            dispute_id,
            principal.agency_id,
            data.case_id,
            "dispute_opened",
            principal.user_id,
            counterpart_agency_id=str(data.counterpart_agency_id),
            agreement_due_at=due.due_at.isoformat(),
            provisional=due.provisional,
        )
    return await get(principal=principal, dispute_id=dispute_id)


async def get(*, principal: Principal, dispute_id: UUID) -> schemas.DisputeOut:
    return await _dispute(principal=principal, dispute_id=dispute_id, rule=rules.DISPUTE_READ)


async def consent(*, principal: Principal, dispute_id: UUID, data: schemas.ConsentIn) -> schemas.DisputeOut:
    """A party consents to a competent agency; both parties on the same one: agreed."""
    row = await _dispute(principal=principal, dispute_id=dispute_id, rule=rules.DISPUTE_CONSENT)
    if row.status != "open":
        raise DisputeState(f"the dispute is already {row.status}", state=row.status)
    if row.agreement_overdue:
        raise DisputeState("the 7 working days to agree have passed: the county government decides", state=row.status)
    parties = (row.opened_by_agency_id, row.counterpart_agency_id)
    if data.competent_agency_id not in parties:
        raise InvalidInput("the competent agency is one of the two parties", field="competent_agency_id")
    now = clock.now()
    given = schemas.Consent(
        agency_id=principal.agency_id,
        competent_agency_id=data.competent_agency_id,
        by=principal.user_id,
        at=now,
        terms=data.terms,
    )
    consents = {**row.consents, str(principal.agency_id): given}
    agreed = {str(p) for p in parties} <= set(consents) and len({c.competent_agency_id for c in consents.values()}) == 1
    values: dict[Any, Any] = {JurisdictionDispute.consents: msgspec.to_builtins(consents)}
    if agreed:
        values |= {
            JurisdictionDispute.status: "agreed",
            JurisdictionDispute.competent_agency: data.competent_agency_id,
            JurisdictionDispute.outcome_basis: data.terms,
            JurisdictionDispute.outcome_by: principal.user_id,
            JurisdictionDispute.outcome_at: now,
        }
    async with write_transaction():
        await JurisdictionDispute.update(values).where(JurisdictionDispute.id == row.id)
        await _event(
            row,
            principal.agency_id,
            row.case_id,
            "agreed" if agreed else "consented",
            principal.user_id,
            competent_agency_id=str(data.competent_agency_id),
        )
    return await get(principal=principal, dispute_id=dispute_id)


async def decide(*, principal: Principal, dispute_id: UUID, data: schemas.OutcomeIn) -> schemas.DisputeOut:
    """The county government decides after the deadline, or designates at any time."""
    row = await _dispute(principal=principal, dispute_id=dispute_id, rule=rules.DISPUTE_OUTCOME)
    if principal.agency_kind != "county_government":
        raise CountyGovernmentOnly("the county government decides or designates the competent agency")
    if row.status != "open":
        raise DisputeState(f"the dispute is already {row.status}", state=row.status)
    if data.kind == "decided" and not row.agreement_overdue:
        detail = f"the parties may agree until {row.agreement_due_at.isoformat()}; designate directly or decide after it"
        raise DisputeState(detail, state=row.status)
    # The county may designate a third agency; it must exist.
    parties = (row.opened_by_agency_id, row.counterpart_agency_id)
    if data.competent_agency_id not in parties and not await Agency.exists().where(Agency.id == data.competent_agency_id):
        raise InvalidInput(f"agency {data.competent_agency_id} does not exist", field="competent_agency_id")
    now = clock.now()
    async with write_transaction():
        await JurisdictionDispute.update(
            {
                JurisdictionDispute.status: data.kind,
                JurisdictionDispute.competent_agency: data.competent_agency_id,
                JurisdictionDispute.outcome_basis: data.basis,
                JurisdictionDispute.outcome_by: principal.user_id,
                JurisdictionDispute.outcome_at: now,
            }
        ).where(JurisdictionDispute.id == row.id)
        await _event(
            row,
            principal.agency_id,
            row.case_id,
            data.kind,
            principal.user_id,
            competent_agency_id=str(data.competent_agency_id),
            basis=data.basis,
        )
    return await get(principal=principal, dispute_id=dispute_id)


async def disputes(*, principal: Principal, which: Which, case_id: UUID | None = None) -> list[schemas.DisputeOut]:
    """The caller's agency's disputes; the county government's (and Justice Bureau's) all."""
    parts = agency_parts(principal)
    authorize(parts, rules.DISPUTE_READ)
    where: Any = JurisdictionDispute.id.is_not_null()
    if Part.REGISTRAR not in parts:
        where &= (JurisdictionDispute.opened_by_agency == principal.agency_id) | (
            JurisdictionDispute.counterpart_agency == principal.agency_id
        )
    if which != "all":
        where &= JurisdictionDispute.status == "open"
    if which == "overdue":
        where &= JurisdictionDispute.agreement_due_at < clock.now()
    if case_id is not None:
        where &= JurisdictionDispute.case_id == case_id
    query = JurisdictionDispute.select(*_COLUMNS).where(where).order_by(JurisdictionDispute.opened_at).limit(_PAGE)
    return [_out(r) for r in await fetch_all(schemas.DisputeOut, query)]


class _Provisional(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    opened_by_agency_id: UUID
    case_id: UUID | None
    opened_at: datetime
    agreement_due_at: datetime


async def recompute_provisional(*, actor_id: UUID | None, years: list[int]) -> int:
    """Provisional agreement deadlines set final now that ``years`` are loaded; call inside the
    loading transaction (backend/oversight/calendar.py). Returns how many disputes changed."""
    query = JurisdictionDispute.select(
        JurisdictionDispute.id,
        JurisdictionDispute.opened_by_agency.as_alias("opened_by_agency_id"),
        JurisdictionDispute.case_id,
        JurisdictionDispute.opened_at,
        JurisdictionDispute.agreement_due_at,
    ).where(JurisdictionDispute.agreement_due_provisional.eq(True))
    working = await calendar.current()
    rows = await fetch_all(_Provisional, query)
    for row in rows:
        due = calendar.compute(row.opened_at, AGREEMENT_WORKING_DAYS, "working", working)
        await JurisdictionDispute.update(
            {JurisdictionDispute.agreement_due_at: due.due_at, JurisdictionDispute.agreement_due_provisional: due.provisional}
        ).where(JurisdictionDispute.id == row.id)
        await append_event(
            event="jurisdiction.agreement_due_recomputed",
            actor_id=actor_id,
            agency_id=row.opened_by_agency_id,
            subject_type="jurisdiction_dispute",
            subject_id=str(row.id),
            case_id=row.case_id,
            details={
                "years": years,
                "was": row.agreement_due_at.isoformat(),
                "due_at": due.due_at.isoformat(),
                "provisional": due.provisional,
            },
        )
    return len(rows)
