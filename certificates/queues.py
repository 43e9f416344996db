"""The admin's work queue of certificates (issue 14, point 5): active certificates whose
validity ends within 30 days, soonest first, so renewal (exam, qualification review) starts
in time and no officer is refused at check-in for an expired certificate (R-CERT-2/4).

Scoped like the admin listing (``listing.py``): the caller's agency; the Justice Bureau,
which issues and renews certificates for every agency, sees them all.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.access import agency_parts, authorize
from backend.core.auth import Principal
from certificates import listing, schemas
from certificates.rules import EXPIRING_QUEUE

EXPIRING_WITHIN_DAYS = 30


class ExpiringCertificate(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("holder_id",)
    certificate_id: UUID
    number: str
    holder_id: UUID
    agency_id: UUID
    agency_name: str
    domains: list[str]
    valid_until: datetime
    days_left: int  # started days until validity ends (2.5 days left: 3)
    holder_name: str | None = None
    holder_role: str | None = None


class ExpiringQueue(msgspec.Struct, kw_only=True):
    items: list[ExpiringCertificate]
    total: int
    limit: int
    offset: int
    within_days: int


async def certificates_expiring(*, principal: Principal, limit: int, offset: int) -> ExpiringQueue:
    authorize(agency_parts(principal), EXPIRING_QUEUE)
    page = await listing.list_certificates(
        principal=principal,
        query=schemas.CertificateQuery(expiring_within_days=EXPIRING_WITHIN_DAYS, limit=limit, offset=offset),
    )
    now = clock.now()
    items = [
        ExpiringCertificate(
            certificate_id=c.id,
            number=c.number,
            holder_id=c.holder_id,
            agency_id=c.agency_id,
            agency_name=c.agency_name,
            domains=c.domains,
            valid_until=c.valid_until,
            days_left=max(0, math.ceil((c.valid_until - now) / timedelta(days=1))),
        )
        for c in page.items
    ]
    return ExpiringQueue(items=items, total=page.total, limit=limit, offset=offset, within_days=EXPIRING_WITHIN_DAYS)
