"""Oversight tables: complaint channels, complaints and their due-date changes (R-CMP)."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from backend.org.tables import Agency, Unit, User


class ComplaintChannel(Table, tablename="ovs_complaint_channel"):
    """R-CMP-1: the designated unit and the published phone, e-mail and postal address."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict, unique=True)
    unit = ForeignKey(Unit, on_delete=OnDelete.restrict)
    phone = Varchar(length=40)
    email = Varchar(length=200)
    postal_address = Varchar(length=300)
    published_by = ForeignKey(User, on_delete=OnDelete.restrict)
    published_at = Timestamptz()


class Complaint(Table, tablename="ovs_complaint"):
    """A complaint from the public (R-CMP-2): received, accepted, investigated, replied."""

    id = UUID(primary_key=True)
    agency = ForeignKey(Agency, on_delete=OnDelete.restrict, index=True)
    tracking_no = Varchar(length=32, unique=True)
    # SHA-256 of the verification code handed to the complainant once; the code is never stored.
    code_sha256 = Varchar(length=64)
    status = Varchar(length=16, default="received")
    subject = Varchar(length=200)
    content = Text()
    complainant_name = Varchar(length=100, default="")
    complainant_contact = Varchar(length=200, default="")
    # R-CMP-4: the complainant says an officer was at fault (named as they know them).
    alleges_officer_fault = Boolean(default=False)
    alleged_officer = Varchar(length=200, default="")
    received_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    handler = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    due_at = Timestamptz(null=True, default=None)
    due_date = Date(null=True, default=None)
    # Counted on weekends only while a year it reaches into is not loaded (backend/org/calendar.py).
    due_provisional = Boolean(default=False)
    # How the due date is counted now: working days from acceptance (30 by R-CMP-2, or the
    # cited statutory limit), or a fixed date the head approved.
    due_basis = JSON(default={})
    findings = Text(default="")
    findings_at = Timestamptz(null=True, default=None)
    reply = Text(default="")
    reply_channel = Varchar(length=16, default="")
    replied_at = Timestamptz(null=True, default=None)
    replied_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    # R-CMP-4: the officer the complaint alleges fault of, once identified; the fault case
    # opens from here when fault accountability lands (until then the link is recorded).
    fault_officer = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    fault_case_id = UUID(null=True, default=None)
    fault_linked_at = Timestamptz(null=True, default=None)


class ComplaintDueChange(Table, tablename="ovs_complaint_due_change"):
    """R-CMP-3: each change of a complaint's due date, with its approval or statutory citation."""

    id = UUID(primary_key=True)
    complaint = ForeignKey(Complaint, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=16)  # head_approval | statutory_limit
    previous_due_at = Timestamptz(null=True, default=None)
    due_at = Timestamptz()
    reason = Text(default="")
    citation = Varchar(length=300, default="")
    approved_by = ForeignKey(User, on_delete=OnDelete.restrict)
    changed_at = Timestamptz()


class JurisdictionDispute(Table, tablename="ovs_jurisdiction_dispute"):
    """R-AGY-4: two agencies dispute who is competent; they agree within 7 working days of
    opening, else the county government decides or designates (it may designate directly)."""

    id = UUID(primary_key=True)
    opened_by_agency = ForeignKey(Agency, on_delete=OnDelete.restrict, index=True)
    counterpart_agency = ForeignKey(Agency, on_delete=OnDelete.restrict, index=True)
    case_id = UUID(null=True, default=None, index=True)
    matter = Text()
    opened_by = ForeignKey(User, on_delete=OnDelete.restrict)
    opened_at = Timestamptz()
    agreement_due_at = Timestamptz()
    agreement_due_provisional = Boolean(default=False)
    status = Varchar(length=16, default="open")  # open | agreed | decided | designated
    # Each party's consent to a competent agency: {agency_id: {"agency_id", "by", "at", "terms"}}.
    consents = JSON(default={})
    competent_agency = ForeignKey(Agency, null=True, default=None, on_delete=OnDelete.restrict)
    outcome_basis = Text(default="")
    outcome_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    outcome_at = Timestamptz(null=True, default=None)


TABLES: list[type[Table]] = [ComplaintChannel, Complaint, ComplaintDueChange, JurisdictionDispute]
