"""Access tokens (EdDSA JWT) and the authenticated principal."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import jwt
import msgspec

from backend.core import clock
from backend.core.errors import Forbidden, Unauthorized
from backend.core.keys import KeyRing

ROLES = ("officer", "supervisor", "legal_reviewer", "admin")
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    username: str
    agency_id: UUID
    agency_kind: str
    roles: tuple[str, ...]
    security_version: int = 1
    # The login session (refresh-token family) the access token belongs to; empty for
    # tokens the server mints for itself (tests, tools), which no logout can reach.
    session_id: str = ""

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def require(self, *roles: str) -> None:
        if not self.has(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")

    @property
    def is_justice_bureau(self) -> bool:
        return self.agency_kind == "justice_bureau"


class TokenIssuer:
    """Issues and verifies access tokens with the server key ring."""

    def __init__(self, keys: KeyRing, *, issuer: str, audience: str, ttl_s: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s

    def issue(self, principal: Principal) -> str:
        issued = int(clock.now().timestamp())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(principal.user_id),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_s,
            "jti": secrets.token_hex(8),
            "agy": str(principal.agency_id),
            "akd": principal.agency_kind,
            "usr": principal.username,
            "rol": list(principal.roles),
            "sv": principal.security_version,
        }
        if principal.session_id:
            # Logout and refresh reuse revoke this family; authenticate() refuses at once.
            claims["sid"] = principal.session_id
        return self.keys.sign_jwt(claims)

    def verify(self, token: str) -> Principal:
        try:
            claims = self.keys.decode_jwt(token, audience=self.audience, issuer=self.issuer, required=REQUIRED_CLAIMS)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired") from None
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise Unauthorized(f"the access token is not valid: {exc}") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        # PyJWT does not cap lifetime: a token living longer than we issue is forged.
        if int(claims["exp"]) - int(claims["iat"]) > self.ttl_s:
            raise Unauthorized("the access token lives longer than this server issues")
        try:
            return Principal(
                user_id=UUID(claims["sub"]),
                username=str(claims["usr"]),
                agency_id=UUID(claims["agy"]),
                agency_kind=str(claims["akd"]),
                roles=tuple(str(r) for r in claims["rol"]),
                security_version=int(claims["sv"]),
                session_id=str(claims.get("sid", "")),
            )
        except (KeyError, ValueError, TypeError):
            raise Unauthorized("the access token lacks required claims") from None
