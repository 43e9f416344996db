"""What crosses oversight's functions and HTTP: complaint channels, complaints, the calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# Their form is checked by the service after the caller's rights (channels.check_form): a
# refused caller learns nothing from a validation answer.
Phone = Annotated[str, Meta(max_length=40, examples=["0571-12345678"])]
Email = Annotated[str, Meta(max_length=200, examples=["ts@xinan.gov.cn"])]
TrackingNo = Annotated[str, Meta(min_length=8, max_length=32, pattern=r"^TS[0-9A-Z-]+$", examples=["TS-20261202-7K3QD9"])]
VerificationCode = Annotated[str, Meta(min_length=8, max_length=32, pattern=r"^[0-9A-Za-z]+$")]
ReplyChannel = Literal["phone", "email", "post", "in_person"]
ComplaintStatusName = Literal["received", "accepted", "replied"]


# --- channels (R-CMP-1) --------------------------------------------------------------------


class ChannelIn(Strict):
    unit_id: UUID
    phone: Phone
    email: Email
    postal_address: Annotated[str, Meta(max_length=300)]


class ChannelOut(msgspec.Struct, kw_only=True):
    """A published channel: public information only (no person is named)."""

    agency_id: UUID
    agency_name: str
    unit_id: UUID
    unit_name: str
    phone: str
    email: str
    postal_address: str
    published_at: datetime


# --- the public side ----------------------------------------------------------------------


class ComplaintIn(Strict):
    agency_id: UUID
    subject: Annotated[str, Meta(min_length=1, max_length=200)]
    content: Annotated[str, Meta(min_length=1, max_length=5000)]
    complainant_name: Annotated[str, Meta(max_length=100)] = ""
    complainant_contact: Annotated[str, Meta(max_length=200)] = ""
    alleges_officer_fault: bool = False
    alleged_officer: Annotated[str, Meta(max_length=200)] = ""


class ComplaintReceipt(msgspec.Struct, kw_only=True):
    """Handed to the complainant once: the code is not stored and cannot be shown again."""

    tracking_no: str
    verification_code: str
    status: str
    received_at: datetime


class StatusQuery(Strict):
    tracking_no: TrackingNo
    verification_code: VerificationCode


class ComplaintStatus(msgspec.Struct, kw_only=True):
    """What the complainant sees: the progress and the reply, nothing about anybody else."""

    tracking_no: str
    agency_name: str
    status: str
    received_at: datetime
    accepted_at: datetime | None
    due_date: date | None
    due_provisional: bool
    replied_at: datetime | None
    reply: str
    reply_channel: str


# --- the office side ----------------------------------------------------------------------


class AcceptIn(Strict):
    handler_id: UUID


class FindingsIn(Strict):
    findings: Annotated[str, Meta(min_length=1, max_length=10000)]


class ReplyIn(Strict):
    """R-CMP-2: the reply's content, date and channel."""

    content: Annotated[str, Meta(min_length=1, max_length=10000)]
    channel: ReplyChannel
    replied_at: datetime


class DueChangeIn(Strict):
    """R-CMP-3: either the head approves a new date with a reason, or a statute sets the limit."""

    kind: Literal["head_approval", "statutory_limit"]
    reason: Annotated[str, Meta(max_length=2000)] = ""
    new_due_date: date | None = None
    citation: Annotated[str, Meta(max_length=300)] = ""
    working_days: Annotated[int, Meta(ge=1, le=365)] | None = None


class FaultLinkIn(Strict):
    officer_id: UUID


class DueBasis(msgspec.Struct, kw_only=True):
    kind: Literal["working_days", "head_approval"] = "working_days"
    working_days: int = 30
    citation: str = ""


class DueChangeOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("approved_by_id",)
    id: UUID
    kind: str
    previous_due_at: datetime | None
    due_at: datetime
    reason: str
    citation: str
    approved_by_id: UUID
    changed_at: datetime
    approved_by_name: str | None = None
    approved_by_role: str | None = None


class ComplaintOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("accepted_by_id", "handler_id", "replied_by_id", "fault_officer_id")
    id: UUID
    agency_id: UUID
    tracking_no: str
    status: str
    subject: str
    content: str
    complainant_name: str
    complainant_contact: str
    alleges_officer_fault: bool
    alleged_officer: str
    received_at: datetime
    accepted_at: datetime | None
    accepted_by_id: UUID | None
    handler_id: UUID | None
    due_at: datetime | None
    due_date: date | None
    due_provisional: bool
    due_basis: DueBasis | None
    findings: str
    findings_at: datetime | None
    reply: str
    reply_channel: str
    replied_at: datetime | None
    replied_by_id: UUID | None
    fault_officer_id: UUID | None
    fault_case_id: UUID | None
    fault_linked_at: datetime | None
    # R-CMP-2: replied by the due date (None while open).
    replied_on_time: bool | None = None
    due_changes: list[DueChangeOut] = []
    accepted_by_name: str | None = None
    accepted_by_role: str | None = None
    handler_name: str | None = None
    handler_role: str | None = None
    replied_by_name: str | None = None
    replied_by_role: str | None = None
    fault_officer_name: str | None = None
    fault_officer_role: str | None = None


class ComplaintSummary(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("handler_id",)
    id: UUID
    tracking_no: str
    status: str
    subject: str
    received_at: datetime
    handler_id: UUID | None
    due_date: date | None
    due_provisional: bool
    replied_at: datetime | None
    handler_name: str | None = None
    handler_role: str | None = None


# --- the statutory calendar ---------------------------------------------------------------


class CalendarYearOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("loaded_by_id",)
    year: int
    source: Literal["package", "loaded"]
    notice_ref: str
    holidays: list[date]
    makeup_workdays: list[date]
    loaded_by_id: UUID | None = None
    loaded_at: datetime | None = None
    loaded_by_name: str | None = None
    loaded_by_role: str | None = None


class CalendarLoadOut(msgspec.Struct, kw_only=True):
    year: CalendarYearOut
    # Provisional deadlines set final (or still provisional for a later unknown year).
    recomputed_notices: int
    recomputed_complaints: int
    recomputed_disputes: int = 0


# --- jurisdiction disputes (R-AGY-4) ------------------------------------------------------


class DisputeIn(Strict):
    counterpart_agency_id: UUID
    matter: Annotated[str, Meta(min_length=1, max_length=2000)]
    case_id: UUID | None = None


class ConsentIn(Strict):
    """A party's consent to which agency is competent (both parties the same: agreed)."""

    competent_agency_id: UUID
    terms: Annotated[str, Meta(max_length=2000)] = ""


class OutcomeIn(Strict):
    """The county government decides (after the 7 working days) or designates (any time)."""

    kind: Literal["decided", "designated"]
    competent_agency_id: UUID
    basis: Annotated[str, Meta(min_length=1, max_length=2000)]


class Consent(msgspec.Struct, kw_only=True):
    agency_id: UUID
    competent_agency_id: UUID
    by: UUID
    at: datetime
    terms: str = ""


class DisputeOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("opened_by_id", "outcome_by_id")
    id: UUID
    opened_by_agency_id: UUID
    counterpart_agency_id: UUID
    case_id: UUID | None
    matter: str
    opened_by_id: UUID
    opened_at: datetime
    agreement_due_at: datetime
    agreement_due_provisional: bool
    status: str
    consents: dict[str, Consent]
    competent_agency_id: UUID | None
    outcome_basis: str
    outcome_by_id: UUID | None
    outcome_at: datetime | None
    # Open past the agreement deadline: the county government decides (R-AGY-4).
    agreement_overdue: bool = False
    opened_by_name: str | None = None
    opened_by_role: str | None = None
    outcome_by_name: str | None = None
    outcome_by_role: str | None = None
