"""Request and response bodies of the certificates area."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

# Where a credential's QR code points: the public verification route (backend/api/public.py).
PUBLIC_VERIFY_PATH = "/public/v1/certificates/verify"

Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
CertificateNo = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")]
Reason = Annotated[str, Meta(min_length=1, max_length=2000)]
DocumentRef = Annotated[str, Meta(min_length=1, max_length=255)]
OptionalText = Annotated[str, Meta(max_length=2000)]

RefusalReason = Literal["not_found", "suspended", "revoked", "expired", "not_yet_valid", "agency_mismatch", "domain_not_covered"]


StatusFilter = Literal["active", "suspended", "revoked", "expired"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


# --- verification at check-in (R-CERT-4) --------------------------------------------------


class CertificateCheck(msgspec.Struct, kw_only=True):
    """The answer of ``verification.verify_for_action``: allowed, or refused with a reason code.

    ``snapshot_token`` is the snapshot signed by the server key (compact JWT, ``kid`` header):
    the check-in stores it so a reviewer can later prove the status at that moment.
    """

    allowed: bool
    reason: RefusalReason | None
    certificate_id: UUID | None
    certificate_no: str | None
    acting_agency_id: UUID | None
    snapshot: dict[str, Any]
    snapshot_token: str


# --- issuing and lifecycle ------------------------------------------------------------------


class ExamResultIn(Strict, kw_only=True):
    """R-CERT-1: the public legal-knowledge exam run by the Justice Bureau."""

    exam_id: Annotated[str, Meta(min_length=1, max_length=64)]
    exam_date: date
    score: Annotated[int, Meta(ge=0, le=1000)]
    pass_mark: Annotated[int, Meta(ge=1, le=1000)] = 60
    passed: bool


class CertificateIn(Strict, kw_only=True):
    number: CertificateNo
    holder_id: UUID
    domains: Annotated[list[Code], Meta(min_length=1, max_length=50)]
    valid_from: datetime
    valid_until: datetime
    photo_ref: Annotated[str, Meta(max_length=255)] = ""
    qualification_review_ref: DocumentRef
    exam: ExamResultIn
    document_ref: DocumentRef


class SuspendIn(Strict, kw_only=True):
    reason: Reason
    rule_breached: OptionalText = ""
    document_ref: DocumentRef
    until: datetime | None = None
    # R-CERT-3: the physical card was taken back (收回) when the suspension was served.
    card_recovered: bool = False


class RevokeIn(Strict, kw_only=True):
    reason: Reason
    rule_breached: OptionalText = ""
    document_ref: DocumentRef
    card_recovered: bool = False


class ReinstateIn(Strict, kw_only=True):
    reason: Reason
    document_ref: DocumentRef


class RenewIn(Strict, kw_only=True):
    valid_from: datetime
    valid_until: datetime
    reason: Reason
    document_ref: DocumentRef
    exam: ExamResultIn | None = None


class CardStepIn(Strict, kw_only=True):
    """Record the next step of the card-recovery task (recovered, handed over, disposed)."""

    step: Literal["recovered", "handed_over", "disposed"]
    note: OptionalText = ""


class ExamResultOut(msgspec.Struct, kw_only=True):
    exam_id: str
    exam_date: date | None
    score: int
    pass_mark: int


class CardRecoveryOut(msgspec.Struct, kw_only=True):
    id: UUID
    state: str
    opened_at: datetime
    recovered_at: datetime | None
    handed_over_at: datetime | None
    disposed_at: datetime | None
    disposition: str


class CertificateEventOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("actor_id",)
    seq: int
    action: str
    from_status: str
    to_status: str
    reason: str
    rule_breached: str
    document_ref: str
    actor_id: UUID | None
    actor_agency_id: UUID | None
    details: dict[str, Any]
    at: datetime
    actor_name: str | None = None
    actor_role: str | None = None


class CertificateOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("holder_id",)
    id: UUID
    number: str
    holder_id: UUID
    holder_name: str
    agency_id: UUID
    agency_name: str
    domains: list[str]
    valid_from: datetime
    valid_until: datetime
    photo_ref: str
    qualification_review_ref: str
    exam: ExamResultOut
    stored_status: str
    status: str
    suspended_until: datetime | None
    verifies_now: bool
    holder_role: str | None = None


class CertificateDetail(CertificateOut, kw_only=True):
    history: list[CertificateEventOut]
    card_recoveries: list[CardRecoveryOut]


class CertificatePage(msgspec.Struct, kw_only=True):
    items: list[CertificateOut]
    total: int
    limit: int
    offset: int


# --- the phone ------------------------------------------------------------------------------


class MyCertificate(msgspec.Struct, kw_only=True):
    """What the officer's `me` screen shows about one of their certificates."""

    id: UUID
    number: str
    agency_id: UUID
    agency_name: str
    domains: list[str]
    valid_from: datetime
    valid_until: datetime
    status: str
    verifies_now: bool
    reason: str | None
    suspended_until: datetime | None


class MyCertificates(msgspec.Struct, kw_only=True):
    items: list[MyCertificate]
    any_valid: bool
    checked_at: datetime


class CredentialOut(msgspec.Struct, kw_only=True):
    token: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    verify_url: str


# --- public verification (R-CERT / issue 4 §4) -----------------------------------------------


class PublicVerification(msgspec.Struct, kw_only=True):
    """No private field: what the printed card itself shows, plus the current status."""

    result: Literal["valid", "invalid", "token_expired", "suspended", "revoked", "expired", "not_yet_valid"]
    valid: bool
    checked_at: datetime
    certificate_no: str | None = None
    holder_name: str | None = None
    agency_name: str | None = None
    domains: list[str] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    status: str | None = None
    token_issued_at: datetime | None = None


class CertificateQuery(msgspec.Struct, kw_only=True):
    """Admin listing filters (issue 4 §6)."""

    status: StatusFilter | None = None
    expiring_within_days: Annotated[int, Meta(ge=0, le=3650)] | None = None
    domain: Code | None = None
    q: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    limit: Annotated[int, Meta(ge=1, le=200)] = 50
    offset: Annotated[int, Meta(ge=0)] = 0
