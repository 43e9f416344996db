"""Reading certificates (R-CERT-2): the typed row, what it answers, who may manage one.

Every other module of the area reads certificates through ``certificates`` here, as
``CertificateRow`` Structs (backend/core/rows.py decodes the JSON domains and makes the
datetimes UTC-aware).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.rows import fetch_all
from certificates import lifecycle, schemas
from certificates.tables import CardRecovery, Certificate, CertificateEvent


class CertificateRow(msgspec.Struct, kw_only=True):
    """A certificate with its holder's and issuing agency's names (one joined query)."""

    id: UUID
    number: str
    holder: UUID
    holder_name: str
    agency: UUID
    agency_name: str
    agency_kind: str
    domains: list[str]
    valid_from: datetime
    valid_until: datetime
    photo_ref: str
    qualification_review_ref: str
    exam_id: str
    exam_date: date | None
    exam_score: int
    exam_pass_mark: int
    status: str
    suspended_until: datetime | None
    version: int


COLUMNS = (
    *Certificate.all_columns(),
    Certificate.holder.full_name.as_alias("holder_name"),
    Certificate.agency.name.as_alias("agency_name"),
    Certificate.agency.kind.as_alias("agency_kind"),
)


async def certificates(where: Any) -> list[CertificateRow]:
    """Certificates matching ``where``, newest first."""
    query = Certificate.select(*COLUMNS).where(where).order_by(Certificate.created_at, ascending=False)
    return await fetch_all(CertificateRow, query)


def status(row: CertificateRow, at: datetime) -> lifecycle.Status:
    return lifecycle.effective_status(stored=row.status, valid_until=row.valid_until, at=at)


def refusal(row: CertificateRow, at: datetime) -> lifecycle.CertificateReason | None:
    return lifecycle.refusal(stored=row.status, valid_from=row.valid_from, valid_until=row.valid_until, at=at)


def certificate_out(row: CertificateRow, at: datetime) -> schemas.CertificateOut:
    return schemas.CertificateOut(
        id=row.id,
        number=row.number,
        holder_id=row.holder,
        holder_name=row.holder_name,
        agency_id=row.agency,
        agency_name=row.agency_name,
        domains=row.domains,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        photo_ref=row.photo_ref,
        qualification_review_ref=row.qualification_review_ref,
        exam=schemas.ExamResultOut(
            exam_id=row.exam_id, exam_date=row.exam_date, score=row.exam_score, pass_mark=row.exam_pass_mark
        ),
        stored_status=row.status,
        status=status(row, at),
        suspended_until=row.suspended_until,
        verifies_now=refusal(row, at) is None,
    )


async def managed_certificate(principal: Principal, certificate_id: UUID) -> CertificateRow:
    """Only admins of the issuing agency or the Justice Bureau manage a certificate; others 404.

    Even a colleague without the admin role gets 404 (issue #4): a status change is not
    something an officer may learn exists for a given certificate id.
    """
    rows = await certificates(Certificate.id == certificate_id)
    may_manage = principal.has("admin") and (principal.is_justice_bureau or (rows and rows[0].agency == principal.agency_id))
    if not rows or not may_manage:
        raise NotFound(f"certificate {certificate_id} not found")
    return rows[0]


# The history read model is served as stored; the two actor columns get the names the body uses.
_EVENT_COLUMNS = (
    CertificateEvent.seq,
    CertificateEvent.action,
    CertificateEvent.from_status,
    CertificateEvent.to_status,
    CertificateEvent.reason,
    CertificateEvent.rule_breached,
    CertificateEvent.document_ref,
    CertificateEvent.actor.as_alias("actor_id"),
    CertificateEvent.actor_agency.as_alias("actor_agency_id"),
    CertificateEvent.details,
    CertificateEvent.at,
)


async def get_certificate(*, principal: Principal, certificate_id: UUID) -> schemas.CertificateDetail:
    """One certificate with its history and card-recovery tasks."""
    row = await managed_certificate(principal, certificate_id)
    events = CertificateEvent.select(*_EVENT_COLUMNS).where(CertificateEvent.certificate == certificate_id)
    cards = CardRecovery.select().where(CardRecovery.certificate == certificate_id)
    base = msgspec.structs.asdict(certificate_out(row, clock.now()))
    return schemas.CertificateDetail(
        **base,
        history=await fetch_all(schemas.CertificateEventOut, events.order_by(CertificateEvent.seq)),
        card_recoveries=await fetch_all(schemas.CardRecoveryOut, cards.order_by(CardRecovery.opened_at)),
    )
