"""The officer's own certificates on the phone (/api/mobile/v1/certificates): status, credential, QR."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from certificates import credentials, listing, qr, rules, schemas
from certificates.credentials import CertificateExpired, CertificateNotValid, CertificateRevoked, CertificateSuspended

# A credential is signed only for a certificate that verifies now (409 names why not).
CREDENTIAL = (
    *SIGNED_IN,
    *WITH_INPUT,
    NotFound,
    CertificateNotValid,
    CertificateSuspended,
    CertificateRevoked,
    CertificateExpired,
)


def _verify_url(request: Request[Any, Any, Any]) -> str:
    # request.base_url ignores X-Forwarded-Host: behind a proxy, set the proxy to pass Host.
    return str(request.base_url).rstrip("/") + schemas.PUBLIC_VERIFY_PATH


class CertificateMobileController(Controller):
    """The officer's own certificates: status, signed credential, QR code."""

    path = "/api/mobile/v1/certificates"
    tags = ["mobile", "certificates"]

    @get("/", summary="My certificates and whether they verify now", responses=problems(SIGNED_IN), opt=declared(rules.MINE))
    async def mine(self, principal: NamedDependency[Principal]) -> schemas.MyCertificates:
        return await listing.certificate_status_for_user(user_id=principal.user_id)

    @get(
        "/{certificate_id:uuid}/credential",
        summary="A signed credential token (≤ 24 h)",
        responses=problems(CREDENTIAL),
        opt=declared(rules.CREDENTIAL),
    )
    async def credential(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        keys: NamedDependency[KeyRing],
        settings: NamedDependency[Settings],
        certificate_id: FromPath[UUID],
    ) -> Response[schemas.CredentialOut]:
        credential = await self._credential(request, principal, keys, settings, certificate_id)
        return Response(credential, headers={"Cache-Control": "no-store"})

    @get(
        "/{certificate_id:uuid}/qr.png",
        summary="The credential as a QR code (PNG)",
        media_type="image/png",
        responses=problems(CREDENTIAL),
        opt=declared(rules.CREDENTIAL),
    )
    async def qr_png(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        keys: NamedDependency[KeyRing],
        settings: NamedDependency[Settings],
        certificate_id: FromPath[UUID],
    ) -> Response[bytes]:
        credential = await self._credential(request, principal, keys, settings, certificate_id)
        return Response(qr.qr_png(credential.verify_url), media_type="image/png", headers={"Cache-Control": "no-store"})

    @get(
        "/{certificate_id:uuid}/qr.svg",
        summary="The credential as a QR code (SVG)",
        media_type="image/svg+xml",
        responses=problems(CREDENTIAL),
        opt=declared(rules.CREDENTIAL),
    )
    async def qr_svg(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        keys: NamedDependency[KeyRing],
        settings: NamedDependency[Settings],
        certificate_id: FromPath[UUID],
    ) -> Response[bytes]:
        credential = await self._credential(request, principal, keys, settings, certificate_id)
        return Response(qr.qr_svg(credential.verify_url), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    @staticmethod
    async def _credential(
        request: Request[Any, Any, Any], principal: Principal, keys: KeyRing, settings: Settings, certificate_id: UUID
    ) -> schemas.CredentialOut:
        return await credentials.issue_credential(
            keys=keys,
            principal=principal,
            certificate_id=certificate_id,
            ttl_s=settings.credential_ttl_s,
            verify_url=_verify_url(request),
        )


ROUTES: list[Any] = [CertificateMobileController]
