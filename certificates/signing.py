"""Signed check-in snapshots and the archive of every key that signed one (R-CERT-4).

A snapshot proves a past moment, so it never expires, and the key that signed it must stay
known long after the key ring has retired it: ``SigningKeyArchive`` keeps the public keys.
"""

from __future__ import annotations

from typing import Any, cast

import jwt
import msgspec

from backend.core import clock
from backend.core.db import current_engine
from backend.core.keys import ALGORITHM, KeyRing, jwk
from backend.core.rows import fetch_all, fetch_one
from certificates.tables import SigningKeyArchive

SNAPSHOT_ISSUER = "fieldproof"
SNAPSHOT_AUDIENCE = "fieldproof-certificate-check"


class _ArchivedKey(msgspec.Struct, kw_only=True):
    jwk: dict[str, str]


_archived: set[tuple[int, str]] = set()


async def _archive_signing_key(keys: KeyRing) -> None:
    """Remember every public key that signed a snapshot, for verification years later (R-CERT-4)."""
    marker = (id(current_engine()), keys.kid)
    if marker in _archived:
        return
    public = jwk(keys.signing_key.public_key())
    await SigningKeyArchive.insert(SigningKeyArchive(kid=keys.kid, jwk=public, first_used_at=clock.now())).on_conflict(
        action="DO NOTHING"
    )
    _archived.add(marker)


async def sign_snapshot(keys: KeyRing, snapshot: dict[str, Any]) -> str:
    await _archive_signing_key(keys)
    issued = int(clock.now().timestamp())
    claims = {
        "iss": SNAPSHOT_ISSUER,
        "aud": SNAPSHOT_AUDIENCE,
        "sub": snapshot["holder_id"],
        "iat": issued,
        "typ": "certificate-check",
        "snap": snapshot,
    }
    return keys.sign_jwt(claims)


async def archived_keys() -> dict[str, list[dict[str, str]]]:
    """Every public key that ever signed a snapshot (a JWKS document)."""
    rows = await fetch_all(
        _ArchivedKey, SigningKeyArchive.select(SigningKeyArchive.jwk).order_by(SigningKeyArchive.first_used_at)
    )
    return {"keys": [r.jwk for r in rows]}


async def verify_snapshot_token(*, keys: KeyRing, token: str) -> dict[str, Any]:
    """Check a stored check-in snapshot; raises ``jwt.InvalidTokenError`` when it does not verify.

    Snapshots have no expiry: they prove a past moment. Keys the ring has retired are looked
    up in the archive.
    """
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise jwt.InvalidTokenError("unexpected algorithm or missing kid")
    key: Any = keys.public_key_for(kid)
    if key is None:
        row = await fetch_one(_ArchivedKey, SigningKeyArchive.select(SigningKeyArchive.jwk).where(SigningKeyArchive.kid == kid))
        if row is None:
            raise jwt.InvalidTokenError("unknown signing key")
        key = jwt.PyJWK(row.jwk).key
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=SNAPSHOT_AUDIENCE,
        issuer=SNAPSHOT_ISSUER,
        options={"require": ["iat", "sub", "aud", "iss"]},
    )
    return cast(dict[str, Any], claims["snap"])
