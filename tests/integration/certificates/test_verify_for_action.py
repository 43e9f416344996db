"""R-CERT-4 / R-CERT-6 / R-AGY-5: the one check-in verification function."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from backend.core import clock
from backend.core.keys import KeyRing
from certificates import signing, verification


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-4")
async def test_active_certificate_allows_and_snapshot_verifies_with_jwks(
    make_person: Any, issue_certificate: Any, key_ring: KeyRing
) -> None:
    officer = await make_person()
    cert = await issue_certificate(officer)
    check = await verification.verify_for_action(
        keys=key_ring,
        user_id=officer.user.id,
        acting_agency_id=officer.agency.id,
        domain="urban_management",
        matter=None,
        at=clock.now(),
    )
    assert check.allowed is True
    assert check.reason is None
    assert check.certificate_id == cert.id
    assert check.certificate_no == cert.number
    assert check.acting_agency_id == officer.agency.id
    assert check.snapshot["status"] == "active"
    assert check.snapshot["holder_name"] == officer.user.full_name
    # The snapshot verifies with the published key, found by kid in the JWKS.
    kid = jwt.get_unverified_header(check.snapshot_token)["kid"]
    published = {k["kid"]: k for k in key_ring.jwks()["keys"]}
    key = jwt.PyJWK(published[kid]).key
    claims = jwt.decode(check.snapshot_token, key, algorithms=["EdDSA"], audience=signing.SNAPSHOT_AUDIENCE)
    assert claims["snap"] == check.snapshot
