"""A complaint's due date (R-CMP-2/3) and the lists that watch it (R-CMP-4).

The due date is 30 working days after acceptance on the statutory calendar. It changes only
by a recorded ``ComplaintDueChange``: the agency head's approval of a later date with the
reason, or a different statutory limit entered with its citation. A provisional due date
(a year not yet loaded) is recomputed when the Justice Bureau loads that year.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any, Literal
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import InvalidInput
from backend.core.rows import fetch_all
from backend.ledger.service import append_event
from backend.org import calendar
from backend.oversight import complaints, rules, schemas
from backend.oversight.errors import ComplaintState, DueChangeNeedsHead
from backend.oversight.tables import Complaint, ComplaintDueChange

# R-CMP-4: the "due soon" list looks this many working days ahead.
DUE_SOON_WORKING_DAYS = 5
_PAGE = 500
Queue = Literal["all", "overdue", "due_soon"]


async def change_due(*, principal: Principal, complaint_id: UUID, data: schemas.DueChangeIn) -> schemas.ComplaintOut:
    """R-CMP-3: a new due date, only with the head's approval and reason or a cited statute."""
    row = await complaints.complaint_for(principal=principal, complaint_id=complaint_id, rule=rules.COMPLAINT_DUE_CHANGE)
    if row.status != "accepted" or row.accepted_at is None:
        raise ComplaintState(
            f"complaint {row.tracking_no} is {row.status}; only an accepted, unanswered complaint has a due date to change",
            state=row.status,
        )
    if data.kind == "head_approval":
        # The agency head (负责人) is the agency's admin; the approver is recorded.
        if not principal.has("admin"):
            raise DueChangeNeedsHead("a later due date needs the agency head's approval (the agency's admin)")
        if not data.reason.strip():
            raise InvalidInput("the head's approval states its reason", field="reason")
        if data.new_due_date is None:
            raise InvalidInput("the approved new due date is missing", field="new_due_date")
        if row.due_date is not None and data.new_due_date <= row.due_date:
            raise InvalidInput(
                f"the new due date must be after the current one ({row.due_date.isoformat()})", field="new_due_date"
            )
        end = datetime.combine(data.new_due_date, time(23, 59, 59), tzinfo=calendar.COUNTY_TZ)
        due = calendar.Deadline(due_at=end.astimezone(UTC), last_day=data.new_due_date)
        basis = schemas.DueBasis(kind="head_approval", working_days=0)
    else:
        if not data.citation.strip():
            raise InvalidInput("a statutory limit is entered with its citation", field="citation")
        if data.working_days is None:
            raise InvalidInput("the statutory limit in working days is missing", field="working_days")
        due = await calendar.deadline(row.accepted_at, data.working_days, "working")
        basis = schemas.DueBasis(kind="working_days", working_days=data.working_days, citation=data.citation)
    now = clock.now()
    async with write_transaction():
        await ComplaintDueChange.insert(
            ComplaintDueChange(
                id=uuid.uuid4(),
                complaint=row.id,
                kind=data.kind,
                previous_due_at=row.due_at,
                due_at=due.due_at,
                reason=data.reason,
                citation=data.citation,
                approved_by=principal.user_id,
                changed_at=now,
            )
        )
        await _set_due(row.id, due, basis)
        await append_event(
            event="complaint.due_changed",
            actor_id=principal.user_id,
            agency_id=row.agency_id,
            subject_type="complaint",
            subject_id=str(row.id),
            details={
                "kind": data.kind,
                "previous_due_at": row.due_at.isoformat() if row.due_at else None,
                "due_at": due.due_at.isoformat(),
                "reason": data.reason,
                "citation": data.citation,
                "provisional": due.provisional,
            },
        )
    return await complaints.get(principal=principal, complaint_id=complaint_id)


async def _set_due(complaint_id: UUID, due: calendar.Deadline, basis: schemas.DueBasis) -> None:
    await Complaint.update(
        {
            Complaint.due_at: due.due_at,
            Complaint.due_date: due.last_day,
            Complaint.due_provisional: due.provisional,
            Complaint.due_basis: msgspec.to_builtins(basis),
        }
    ).where(Complaint.id == complaint_id)


_SUMMARY = (
    Complaint.id,
    Complaint.tracking_no,
    Complaint.status,
    Complaint.subject,
    Complaint.received_at,
    Complaint.handler.as_alias("handler_id"),
    Complaint.due_date,
    Complaint.due_provisional,
    Complaint.replied_at,
)


async def _where(principal: Principal, which: Queue) -> Any:
    where: Any = Complaint.agency == principal.agency_id
    now = clock.now()
    if which != "all":
        where &= (Complaint.status == "accepted") & Complaint.due_at.is_not_null()
    if which == "overdue":
        where &= Complaint.due_at < now
    elif which == "due_soon":
        horizon = await calendar.deadline(now, DUE_SOON_WORKING_DAYS, "working")
        where &= (Complaint.due_at >= now) & (Complaint.due_at <= horizon.due_at)
    return where


async def queue(*, principal: Principal, which: Queue) -> list[schemas.ComplaintSummary]:
    """The agency's complaints: all, overdue (R-CMP-4), or due within 5 working days."""
    authorize(agency_parts(principal), rules.COMPLAINT_QUEUE)
    where = await _where(principal, which)
    order = Complaint.received_at if which == "all" else Complaint.due_at
    query = Complaint.select(*_SUMMARY).where(where).order_by(order, ascending=which != "all").limit(_PAGE)
    return await fetch_all(schemas.ComplaintSummary, query)


async def count(*, principal: Principal, which: Queue) -> int:
    """How many complaints are in a list (the work-queue summary's alert, R-CMP-4)."""
    authorize(agency_parts(principal), rules.COMPLAINT_QUEUE)
    return int(await Complaint.count().where(await _where(principal, which)))


class _Provisional(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    agency_id: UUID
    accepted_at: datetime
    due_at: datetime
    due_basis: schemas.DueBasis


async def recompute_provisional(*, actor_id: UUID | None, years: list[int]) -> int:
    """Provisional due dates set final now that ``years`` are loaded; call inside the loading
    transaction. Returns how many complaints changed."""
    query = Complaint.select(
        Complaint.id, Complaint.agency.as_alias("agency_id"), Complaint.accepted_at, Complaint.due_at, Complaint.due_basis
    ).where(Complaint.due_provisional.eq(True) & Complaint.accepted_at.is_not_null())
    working = await calendar.current()
    rows = await fetch_all(_Provisional, query)
    for row in rows:
        due = calendar.compute(row.accepted_at, row.due_basis.working_days, "working", working)
        await _set_due(row.id, due, row.due_basis)
        await append_event(
            event="complaint.due_recomputed",
            actor_id=actor_id,
            agency_id=row.agency_id,
            subject_type="complaint",
            subject_id=str(row.id),
            details={
                "years": years,
                "was": row.due_at.isoformat(),
                "due_at": due.due_at.isoformat(),
                "provisional": due.provisional,
            },
        )
    return len(rows)
