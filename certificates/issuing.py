"""Issuing a certificate (R-CERT-1): a passed exam, a valid term, domains within the agency's powers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import InvalidInput, NotFound
from backend.core.rows import fetch_all, fetch_one
from backend.org.tables import Entrustment, User
from certificates import history, reading, rules, schemas
from certificates.tables import Certificate


class ExamNotPassed(InvalidInput):
    slug = "certificate-exam-not-passed"
    title = "No passed public legal-knowledge exam"


class _Holder(msgspec.Struct, kw_only=True):
    """The future holder and what their agency may certify."""

    agency: UUID
    kind: str
    domains: list[str]


class _Domains(msgspec.Struct, kw_only=True):
    domains: list[str]


def check_exam(exam: schemas.ExamResultIn) -> None:
    # R-CERT-1: no certificate without a passed public legal-knowledge exam.
    if not exam.passed or exam.score < exam.pass_mark:
        raise ExamNotPassed(
            f"exam {exam.exam_id}: score {exam.score} with pass mark {exam.pass_mark} is not a pass", field="exam"
        )


def check_validity(valid_from: datetime, valid_until: datetime) -> None:
    if valid_until <= valid_from:
        raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    if clock.as_utc(valid_until) <= clock.now():
        raise InvalidInput("valid_until must be in the future", field="valid_until")


def exam_columns(exam: schemas.ExamResultIn) -> dict[Any, Any]:
    return {
        Certificate.exam_id: exam.exam_id,
        Certificate.exam_date: exam.exam_date,
        Certificate.exam_score: exam.score,
        Certificate.exam_pass_mark: exam.pass_mark,
    }


async def _holder_agency(principal: Principal, holder_id: UUID) -> _Holder:
    query = User.select(User.agency, User.agency.kind.as_alias("kind"), User.agency.domains.as_alias("domains"))
    holder = await fetch_one(_Holder, query.where(User.id == holder_id))
    if holder is None or not (principal.is_justice_bureau or holder.agency == principal.agency_id):
        raise NotFound(f"user {holder_id} not found", field="holder_id")
    return holder


async def _agency_domains(holder: _Holder) -> set[str]:
    """Domains an agency may certify: its own, or for an entrusted body those it was entrusted with."""
    if holder.kind != "entrusted_organisation":
        return set(holder.domains)
    rows = await fetch_all(_Domains, Entrustment.select(Entrustment.domains).where(Entrustment.entrusted_agency == holder.agency))
    return {d for r in rows for d in r.domains}


async def issue(*, principal: Principal, data: schemas.CertificateIn) -> schemas.CertificateDetail:
    """Issue a certificate to a user of the caller's agency (the Justice Bureau: any agency)."""
    authorize(agency_parts(principal), rules.ISSUE)
    check_exam(data.exam)
    check_validity(data.valid_from, data.valid_until)
    holder = await _holder_agency(principal, data.holder_id)
    outside = sorted(set(data.domains) - await _agency_domains(holder))
    if outside:
        raise InvalidInput(f"domains outside the agency's powers: {', '.join(outside)}", field="domains")
    certificate_id = uuid.uuid4()
    now = clock.now()
    certificate = Certificate(
        id=certificate_id,
        number=data.number,
        holder=data.holder_id,
        agency=holder.agency,
        domains=sorted(set(data.domains)),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        photo_ref=data.photo_ref,
        qualification_review_ref=data.qualification_review_ref,
        status="active",
        created_at=now,
        updated_at=now,
    )
    for column, value in exam_columns(data.exam).items():
        setattr(certificate, column._meta.name, value)
    details = {"exam_id": data.exam.exam_id, "score": data.exam.score, "qualification_review_ref": data.qualification_review_ref}
    async with write_transaction():
        with unique_as(f"certificate number {data.number!r} already exists", field="number"):
            await Certificate.insert(certificate)
        change = history.change_by(principal, "issue", reason="issued", document_ref=data.document_ref, details=details)
        await history.record(certificate_id, change, from_status="", to_status="active")
    return await reading.get_certificate(principal=principal, certificate_id=certificate_id)
