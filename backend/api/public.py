"""Public HTTP (/public/v1), no login: signing keys and certificate verification.

Nothing private is answered here; the party at the door scans an officer's QR and lands on
``/public/v1/certificates/verify``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Response

from backend.core.errors import TooManyRequests
from backend.core.http.openapi import WITH_INPUT, problems
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from certificates import credentials, ratelimit, schemas, signing

# A credential JWT is well under 2 KB; anything longer is not ours (and is answered "invalid").
MAX_TOKEN_LENGTH = 4096


class PublicController(Controller):
    """No login. Nothing private is answered here."""

    path = "/public/v1"
    tags = ["public"]

    @get("/keys", summary="JWKS: the current and recent public signing keys")
    async def keys(self, keys: NamedDependency[KeyRing]) -> Response[dict[str, list[dict[str, str]]]]:
        return Response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @get("/keys/archive", summary="Every public key that ever signed a check-in snapshot")
    async def archived_keys(self) -> dict[str, list[dict[str, str]]]:
        return await signing.archived_keys()

    @get(
        "/certificates/verify",
        summary="Verify a certificate credential: its CURRENT status",
        responses=problems(WITH_INPUT, TooManyRequests),
    )
    async def verify(
        self,
        request: Request[Any, Any, Any],
        keys: NamedDependency[KeyRing],
        settings: NamedDependency[Settings],
        token: Annotated[str, QueryParameter(min_length=1)],
    ) -> Response[schemas.PublicVerification]:
        address = request.client.host if request.client else "unknown"
        if not await ratelimit.allow(scope="verify", key=address, limit=settings.public_verify_per_minute, window_s=60):
            raise TooManyRequests("too many verifications from this address; try again in a minute", retry_after=60)
        if len(token) > MAX_TOKEN_LENGTH:
            result = await credentials.verify_public(keys=keys, token="")
        else:
            result = await credentials.verify_public(keys=keys, token=token)
        return Response(result, headers={"Cache-Control": "no-store"})


ROUTES: list[Any] = [PublicController]
