"""Certificate fixtures: issue a certificate straight through the service (tests/factories.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from certificates import schemas
from tests import factories

IssueCertificate = Callable[..., Awaitable[schemas.CertificateDetail]]


@pytest.fixture
def issue_certificate(database: None) -> IssueCertificate:
    """Issue a certificate to ``holder`` (a Person) as ``admin``, by default a new admin of the
    holder's agency; other keyword arguments replace fields of the certificate body."""
    return factories.certificate
