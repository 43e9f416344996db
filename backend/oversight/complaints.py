"""Complaints from the public (R-CMP-2, R-CMP-4): received without login, accepted with a
handler, investigated and replied within 30 working days of acceptance.

Every step is timestamped on the complaint and ledgered (subject ``complaint``). The
complainant follows the complaint with its tracking number and the verification code handed
out once at submission (only its SHA-256 is kept); a wrong code answers exactly as an
unknown number does. Due dates and their changes are in ``complaint_deadlines.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import Part, Rule, authorize, parts_in
from backend.core.auth import Principal
from backend.core.db import is_unique_violation, write_transaction
from backend.core.errors import InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.ledger.service import append_event
from backend.org import calendar
from backend.org.tables import User
from backend.oversight import channels, rules, schemas
from backend.oversight.errors import ComplaintState
from backend.oversight.tables import Complaint, ComplaintDueChange

# R-CMP-2: investigation and reply are due 30 working days after acceptance.
REPLY_WORKING_DAYS = 30
# Recorded after it happened; a reply time ahead of the server clock is a typing error.
_CLOCK_TOLERANCE = timedelta(minutes=5)
# Tracking numbers and codes avoid letters read as digits (I, O) for reading out by phone.
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_TRACKING_ATTEMPTS = 3

_COLUMNS = (
    Complaint.id,
    Complaint.agency.as_alias("agency_id"),
    Complaint.tracking_no,
    Complaint.status,
    Complaint.subject,
    Complaint.content,
    Complaint.complainant_name,
    Complaint.complainant_contact,
    Complaint.alleges_officer_fault,
    Complaint.alleged_officer,
    Complaint.received_at,
    Complaint.accepted_at,
    Complaint.accepted_by.as_alias("accepted_by_id"),
    Complaint.handler.as_alias("handler_id"),
    Complaint.due_at,
    Complaint.due_date,
    Complaint.due_provisional,
    Complaint.due_basis,
    Complaint.findings,
    Complaint.findings_at,
    Complaint.reply,
    Complaint.reply_channel,
    Complaint.replied_at,
    Complaint.replied_by.as_alias("replied_by_id"),
    Complaint.fault_officer.as_alias("fault_officer_id"),
    Complaint.fault_case_id,
    Complaint.fault_linked_at,
)


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.upper().encode()).hexdigest()


async def _event(complaint: schemas.ComplaintOut | UUID, agency_id: UUID, event: str, actor: UUID | None, **details: Any) -> None:
    complaint_id = complaint if isinstance(complaint, UUID) else complaint.id
    await append_event(
        event=f"complaint.{event}",
        actor_id=actor,
        agency_id=agency_id,
        subject_type="complaint",
        subject_id=str(complaint_id),
        details=details,
    )


# --- the public side ----------------------------------------------------------------------


async def submit(*, data: schemas.ComplaintIn) -> schemas.ComplaintReceipt:
    """Anyone complains to an agency whose channels are published (R-CMP-1); no login."""
    await channels.require_open(data.agency_id)
    now = clock.now()
    complaint_id = uuid.uuid4()
    code = _random(10)
    # A tracking number drawn twice (34^6 a day) is drawn again, in a new transaction.
    for attempt in range(_TRACKING_ATTEMPTS):
        tracking_no = f"TS-{now.astimezone(calendar.COUNTY_TZ):%Y%m%d}-{_random(6)}"
        try:
            async with write_transaction():
                await Complaint.insert(
                    Complaint(
                        id=complaint_id,
                        agency=data.agency_id,
                        tracking_no=tracking_no,
                        code_sha256=_code_hash(code),
                        status="received",
                        subject=data.subject,
                        content=data.content,
                        complainant_name=data.complainant_name,
                        complainant_contact=data.complainant_contact,
                        alleges_officer_fault=data.alleges_officer_fault,
                        alleged_officer=data.alleged_officer,
                        received_at=now,
                    )
                )
                # The ledger keeps the facts of the step, not the complainant's words or identity.
                await _event(
                    complaint_id,
                    data.agency_id,
                    "received",
                    None,
                    tracking_no=tracking_no,
                    alleges_officer_fault=data.alleges_officer_fault,
                )
            break
        except Exception as exc:
            if not is_unique_violation(exc) or attempt == _TRACKING_ATTEMPTS - 1:
                raise
    return schemas.ComplaintReceipt(tracking_no=tracking_no, verification_code=code, status="received", received_at=now)


class _Secret(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    code_sha256: str
    agency_name: str


async def status(*, query: schemas.StatusQuery) -> schemas.ComplaintStatus:
    """The complainant's view: found only with the right code, the same 404 otherwise."""
    found = await fetch_one(
        _Secret,
        Complaint.select(Complaint.id, Complaint.code_sha256, Complaint.agency.name.as_alias("agency_name")).where(
            Complaint.tracking_no == query.tracking_no
        ),
    )
    if found is None or not hmac.compare_digest(found.code_sha256, _code_hash(query.verification_code)):
        raise NotFound("no complaint with this tracking number and verification code")
    row = await _row(found.id)
    return schemas.ComplaintStatus(
        tracking_no=row.tracking_no,
        agency_name=found.agency_name,
        status=row.status,
        received_at=row.received_at,
        accepted_at=row.accepted_at,
        due_date=row.due_date,
        due_provisional=row.due_provisional,
        replied_at=row.replied_at,
        reply=row.reply,
        reply_channel=row.reply_channel,
    )


# --- reading in the office ----------------------------------------------------------------


async def _row(complaint_id: UUID) -> schemas.ComplaintOut:
    row = await fetch_one(schemas.ComplaintOut, Complaint.select(*_COLUMNS).where(Complaint.id == complaint_id))
    if row is None:
        raise NotFound(f"complaint {complaint_id} not found")
    return row


async def complaint_for(*, principal: Principal, complaint_id: UUID, rule: Rule) -> schemas.ComplaintOut:
    """The complaint if the caller's parts admit ``rule``; another agency's complaint is a 404."""
    row = await fetch_one(schemas.ComplaintOut, Complaint.select(*_COLUMNS).where(Complaint.id == complaint_id))
    if row is None or row.agency_id != principal.agency_id:
        raise NotFound(f"complaint {complaint_id} not found")
    parts = parts_in(principal, row.agency_id)
    if row.handler_id == principal.user_id:
        parts |= {Part.HANDLER}
    authorize(parts, rule, hidden=f"complaint {complaint_id}")
    return row


async def view(row: schemas.ComplaintOut) -> schemas.ComplaintOut:
    changes = await fetch_all(
        schemas.DueChangeOut,
        ComplaintDueChange.select(
            ComplaintDueChange.id,
            ComplaintDueChange.kind,
            ComplaintDueChange.previous_due_at,
            ComplaintDueChange.due_at,
            ComplaintDueChange.reason,
            ComplaintDueChange.citation,
            ComplaintDueChange.approved_by.as_alias("approved_by_id"),
            ComplaintDueChange.changed_at,
        )
        .where(ComplaintDueChange.complaint == row.id)
        .order_by(ComplaintDueChange.changed_at),
    )
    on_time = None if row.replied_at is None or row.due_at is None else row.replied_at <= row.due_at
    # A complaint not yet accepted has no due date, hence no basis for one.
    basis = row.due_basis if row.accepted_at is not None else None
    return msgspec.structs.replace(row, due_changes=changes, replied_on_time=on_time, due_basis=basis)


async def get(*, principal: Principal, complaint_id: UUID) -> schemas.ComplaintOut:
    return await view(await complaint_for(principal=principal, complaint_id=complaint_id, rule=rules.COMPLAINT_READ))


def _ensure(row: schemas.ComplaintOut, *states: str) -> None:
    if row.status not in states:
        raise ComplaintState(
            f"complaint {row.tracking_no} is {row.status}; this needs it {' or '.join(states)}", state=row.status
        )


async def _ensure_colleague(principal: Principal, user_id: UUID, field: str) -> None:
    found = await User.exists().where((User.id == user_id) & (User.agency == principal.agency_id) & (User.active.eq(True)))
    if not found:
        raise InvalidInput(f"user {user_id} is not an active member of your agency", field=field)


# --- the steps ----------------------------------------------------------------------------


async def accept(*, principal: Principal, complaint_id: UUID, data: schemas.AcceptIn) -> schemas.ComplaintOut:
    """Acceptance starts the 30 working days (R-CMP-2) and names the handler."""
    row = await complaint_for(principal=principal, complaint_id=complaint_id, rule=rules.COMPLAINT_ACCEPT)
    _ensure(row, "received")
    await _ensure_colleague(principal, data.handler_id, "handler_id")
    now = clock.now()
    due = await calendar.deadline(now, REPLY_WORKING_DAYS, "working")
    basis = schemas.DueBasis(kind="working_days", working_days=REPLY_WORKING_DAYS)
    async with write_transaction():
        await Complaint.update(
            {
                Complaint.status: "accepted",
                Complaint.accepted_at: now,
                Complaint.accepted_by: principal.user_id,
                Complaint.handler: data.handler_id,
                Complaint.due_at: due.due_at,
                Complaint.due_date: due.last_day,
                Complaint.due_provisional: due.provisional,
                Complaint.due_basis: msgspec.to_builtins(basis),
            }
        ).where(Complaint.id == row.id)
        await _event(
            row,
            row.agency_id,
            "accepted",
            principal.user_id,
            handler_id=str(data.handler_id),
            due_at=due.due_at.isoformat(),
            provisional=due.provisional,
        )
    return await get(principal=principal, complaint_id=complaint_id)


async def record_findings(*, principal: Principal, complaint_id: UUID, data: schemas.FindingsIn) -> schemas.ComplaintOut:
    row = await complaint_for(principal=principal, complaint_id=complaint_id, rule=rules.COMPLAINT_HANDLE)
    _ensure(row, "accepted")
    now = clock.now()
    async with write_transaction():
        await Complaint.update({Complaint.findings: data.findings, Complaint.findings_at: now}).where(Complaint.id == row.id)
        digest = hashlib.sha256(data.findings.encode()).hexdigest()
        await _event(row, row.agency_id, "findings_recorded", principal.user_id, findings_sha256=digest)
    return await get(principal=principal, complaint_id=complaint_id)


async def reply(*, principal: Principal, complaint_id: UUID, data: schemas.ReplyIn) -> schemas.ComplaintOut:
    """R-CMP-2: the reply's content, date and channel are recorded by the handler."""
    row = await complaint_for(principal=principal, complaint_id=complaint_id, rule=rules.COMPLAINT_HANDLE)
    _ensure(row, "accepted")
    _check_reply_time(data.replied_at, row.accepted_at)
    async with write_transaction():
        await Complaint.update(
            {
                Complaint.status: "replied",
                Complaint.reply: data.content,
                Complaint.reply_channel: data.channel,
                Complaint.replied_at: data.replied_at,
                Complaint.replied_by: principal.user_id,
            }
        ).where(Complaint.id == row.id)
        on_time = row.due_at is not None and data.replied_at <= row.due_at
        await _event(
            row,
            row.agency_id,
            "replied",
            principal.user_id,
            channel=data.channel,
            replied_at=data.replied_at.isoformat(),
            reply_sha256=hashlib.sha256(data.content.encode()).hexdigest(),
            on_time=on_time,
        )
    return await get(principal=principal, complaint_id=complaint_id)


def _check_reply_time(replied_at: datetime, accepted_at: datetime | None) -> None:
    if replied_at.tzinfo is None or replied_at > clock.now() + _CLOCK_TOLERANCE:
        raise InvalidInput("replied_at must be a timezone-aware time not in the future", field="replied_at")
    if accepted_at is not None and replied_at < accepted_at:
        raise InvalidInput("replied_at is before the complaint was accepted", field="replied_at")


async def link_fault(*, principal: Principal, complaint_id: UUID, data: schemas.FaultLinkIn) -> schemas.ComplaintOut:
    """R-CMP-4: the officer a complaint alleges fault of is linked to it.

    The fault case (R-FAULT-7) opens from this link once fault accountability exists; until
    then the link itself is the record, listed with the complaint.
    """
    row = await complaint_for(principal=principal, complaint_id=complaint_id, rule=rules.COMPLAINT_FAULT_LINK)
    if not row.alleges_officer_fault:
        raise ComplaintState(f"complaint {row.tracking_no} alleges no officer's fault", state=row.status)
    await _ensure_colleague(principal, data.officer_id, "officer_id")
    now = clock.now()
    async with write_transaction():
        await Complaint.update({Complaint.fault_officer: data.officer_id, Complaint.fault_linked_at: now}).where(
            Complaint.id == row.id
        )
        await _event(row, row.agency_id, "fault_linked", principal.user_id, officer_id=str(data.officer_id), fault_case_id=None)
    return await get(principal=principal, complaint_id=complaint_id)
