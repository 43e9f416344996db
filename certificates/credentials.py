"""The phone's credential (issue 4 §3) and its public verification (issue 4 §4).

A credential is a short-lived token signed by the server key that the officer shows as text
or QR code (certificates/qr.py); whoever scans it asks the public route for the CURRENT
status behind it, so an older token of a since-suspended certificate no longer passes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import jwt
import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.errors import Conflict, NotFound
from backend.core.keys import ALGORITHM, KeyRing
from certificates import reading, schemas
from certificates.reading import CertificateRow
from certificates.tables import Certificate

CREDENTIAL_ISSUER = "fieldproof"
CREDENTIAL_AUDIENCE = "fieldproof-certificate"
# R-CERT-4 (offline): a credential is at most 24 h old; a longer-lived token is forged.
CREDENTIAL_MAX_TTL_S = 24 * 3600
_TOKEN_CLAIMS = ["exp", "iat", "sub", "aud", "iss"]


class CertificateNotValid(Conflict):
    slug = "certificate-not-valid"
    title = "The certificate does not verify"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)


class CertificateSuspended(CertificateNotValid):
    slug = "certificate-suspended"
    title = "The certificate is suspended"


class CertificateRevoked(CertificateNotValid):
    slug = "certificate-revoked"
    title = "The certificate is revoked"


class CertificateExpired(CertificateNotValid):
    slug = "certificate-expired"
    title = "The certificate has expired"


_NOT_VALID: dict[str, type[CertificateNotValid]] = {
    "suspended": CertificateSuspended,
    "revoked": CertificateRevoked,
    "expired": CertificateExpired,
}


async def own_certificate(*, principal: Principal, certificate_id: UUID) -> CertificateRow:
    rows = await reading.certificates((Certificate.id == certificate_id) & (Certificate.holder == principal.user_id))
    if not rows:
        raise NotFound(f"certificate {certificate_id} not found")
    return rows[0]


async def issue_credential(
    *, keys: KeyRing, principal: Principal, certificate_id: UUID, ttl_s: int, verify_url: str
) -> schemas.CredentialOut:
    """A short-lived signed token (≤ 24 h) the phone shows as text or QR code.

    Only a certificate that verifies now gets a credential: a suspended officer cannot show
    a fresh token. Verification still answers the current status for older tokens.
    """
    row = await own_certificate(principal=principal, certificate_id=certificate_id)
    now = clock.now()
    reason = reading.refusal(row, now)
    if reason is not None:
        raise _NOT_VALID.get(reason, CertificateNotValid)(f"certificate {row.number} is {reason}", reason=reason)
    issued = int(now.timestamp())
    expires = issued + min(ttl_s, CREDENTIAL_MAX_TTL_S)
    claims = {
        "iss": CREDENTIAL_ISSUER,
        "aud": CREDENTIAL_AUDIENCE,
        "sub": str(row.id),
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "typ": "certificate",
        # What the printed card shows, so an offline verifier with the JWKS sees it too.
        "cno": row.number,
        "hnm": row.holder_name,
        "agn": row.agency_name,
        "dom": row.domains,
        "vfr": int(row.valid_from.timestamp()),
        "vto": int(row.valid_until.timestamp()),
    }
    token = keys.sign_jwt(claims)
    return schemas.CredentialOut(
        token=token,
        kid=keys.kid,
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
        verify_url=f"{verify_url}?{urlencode({'token': token})}",
    )


class _Credential(msgspec.Struct, kw_only=True):
    """The claims of a credential we signed that verification looks at."""

    sub: Any
    cno: Any
    iat: int
    expired: bool


def _credential(keys: KeyRing, token: str) -> _Credential | None:
    """The credential behind ``token``; None when it is not ours or tampered."""
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        # A credential is a token (hours): only the current and recently retired keys verify it.
        key = keys.token_key_for(kid) if isinstance(kid, str) and header.get("alg") == ALGORITHM else None
        if key is None:
            return None  # never fetch an unknown key (no jku/x5u)
        options: Any = {"require": _TOKEN_CLAIMS, "verify_exp": False}
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=CREDENTIAL_AUDIENCE, issuer=CREDENTIAL_ISSUER, options=options
        )
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > CREDENTIAL_MAX_TTL_S or claims.get("typ") != "certificate":
            return None
        expired = int(claims["exp"]) <= int(clock.now().timestamp())
        return _Credential(sub=claims["sub"], cno=claims.get("cno"), iat=int(claims["iat"]), expired=expired)
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
        return None


async def verify_public(*, keys: KeyRing, token: str) -> schemas.PublicVerification:
    """Answer the CURRENT status behind a credential; "invalid" for anything we did not sign."""
    now = clock.now()
    credential = _credential(keys, token)
    rows = await reading.certificates(Certificate.id == _uuid_or_none(credential.sub)) if credential else []
    if credential is None or not rows or rows[0].number != credential.cno:
        return schemas.PublicVerification(result="invalid", valid=False, checked_at=now)
    row = rows[0]
    reason = reading.refusal(row, now)
    result: Any = "token_expired" if credential.expired else (reason or "valid")
    return schemas.PublicVerification(
        result=result,
        valid=result == "valid",
        checked_at=now,
        certificate_no=row.number,
        holder_name=row.holder_name,
        agency_name=row.agency_name,
        domains=row.domains,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        status=reading.status(row, now),
        token_issued_at=datetime.fromtimestamp(credential.iat, UTC),
    )


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
