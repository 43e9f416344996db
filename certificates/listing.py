"""Listing certificates: the admin's search (issue 4 §6) and the officer's own on the phone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from backend.core.db import is_postgres
from backend.core.rows import fetch_all
from certificates import reading, rules, schemas
from certificates.reading import CertificateRow
from certificates.tables import Certificate


async def list_certificates(*, principal: Principal, query: schemas.CertificateQuery) -> schemas.CertificatePage:
    """Admin listing, scoped to the caller's agency (the Justice Bureau sees every agency)."""
    authorize(agency_parts(principal), rules.LIST)
    now = clock.now()
    where: Any = Certificate.id.is_not_null()
    if not principal.is_justice_bureau:
        where &= Certificate.agency == principal.agency_id
    where &= _status_filter(query.status, now)
    if query.expiring_within_days is not None:
        horizon = now + timedelta(days=query.expiring_within_days)
        where &= (Certificate.status == "active") & (Certificate.valid_until > now) & (Certificate.valid_until <= horizon)
    if query.q:
        where &= _text_match(f"%{query.q}%")
    select = Certificate.select(*reading.COLUMNS).where(where).order_by(Certificate.valid_until).order_by(Certificate.number)
    found = await fetch_all(CertificateRow, select)
    # Domains live in a JSON list; the agency-scoped set is small, so the filter runs here.
    if query.domain:
        found = [r for r in found if query.domain in r.domains]
    page = found[query.offset : query.offset + query.limit]
    items = [reading.certificate_out(r, now) for r in page]
    return schemas.CertificatePage(items=items, total=len(found), limit=query.limit, offset=query.offset)


def _text_match(pattern: str) -> Any:
    # SQLite's LIKE is already case-insensitive for ASCII and Piccolo warns on ILIKE there.
    if is_postgres():
        return Certificate.number.ilike(pattern) | Certificate.holder.full_name.ilike(pattern)
    return Certificate.number.like(pattern) | Certificate.holder.full_name.like(pattern)


def _status_filter(status: str | None, now: datetime) -> Any:
    if status is None:
        return Certificate.id.is_not_null()
    if status == "active":
        return (Certificate.status == "active") & (Certificate.valid_until > now)
    if status == "expired":
        return (Certificate.status == "active") & (Certificate.valid_until <= now)
    return Certificate.status == status


async def certificate_status_for_user(*, user_id: UUID) -> schemas.MyCertificates:
    """The phone's `me` screen: the caller's certificates with their current status."""
    at = clock.now()
    items = [
        schemas.MyCertificate(
            id=r.id,
            number=r.number,
            agency_id=r.agency,
            agency_name=r.agency_name,
            domains=r.domains,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            status=reading.status(r, at),
            verifies_now=reading.refusal(r, at) is None,
            reason=reading.refusal(r, at),
            suspended_until=r.suspended_until,
        )
        for r in await reading.certificates(Certificate.holder == user_id)
    ]
    return schemas.MyCertificates(items=items, any_valid=any(i.verifies_now for i in items), checked_at=at)
