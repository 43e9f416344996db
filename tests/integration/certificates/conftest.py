"""Helpers for certificate tests: issue a certificate straight through the service."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from backend.core import clock
from certificates import issuing, schemas

IssueCertificate = Callable[..., Awaitable[schemas.CertificateDetail]]


def certificate_body(holder_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    now = clock.now()
    body: dict[str, Any] = {
        "number": f"GZ-{uuid.uuid4().hex[:10]}",
        "holder_id": str(holder_id),
        "domains": ["urban_management"],
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "qualification_review_ref": "资格审查〔2025〕12号",
        "exam": {"exam_id": "EX-2025-07", "exam_date": "2025-07-01", "score": 86, "pass_mark": 60, "passed": True},
        "document_ref": "发证决定〔2025〕3号",
    }
    body.update(fields)
    return body


@pytest.fixture
def issue_certificate(make_person: Any) -> IssueCertificate:
    """Issue a certificate to ``holder`` (a Person) as an admin of the holder's agency."""

    async def factory(holder: Any, admin: Any = None, **fields: Any) -> schemas.CertificateDetail:
        admin = admin or await make_person(roles=["admin"], agency=holder.agency)
        data = msgspec.convert(certificate_body(holder.user.id, **fields), schemas.CertificateIn)
        return await issuing.issue(principal=admin.principal, data=data)

    return factory


def at(value: datetime) -> datetime:
    return clock.as_utc(value)
