"""HTTP of the certificates area: office (/api/v1), the phone (/api/mobile/v1), public (/public/v1).

Thin controllers: every rule lives in ``certificates.service``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Response

from backend.core.auth import Principal
from backend.core.errors import TooManyRequests
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from certificates import qr, ratelimit, schemas, service


class _ConflictDoc(ClientException):
    """Documents the 409 problems (illegal transition, duplicate, certificate not valid) in OpenAPI."""

    status_code = 409


class _UnprocessableDoc(ClientException):
    """Documents the 422 problems (exam not passed, invalid validity or domains) in OpenAPI."""

    status_code = 422


AUTH_ERRORS = [NotAuthorizedException, PermissionDeniedException, NotFoundException, ValidationException]
CHANGE_ERRORS = [*AUTH_ERRORS, _ConflictDoc, _UnprocessableDoc]
VERIFY_PATH = "/public/v1/certificates/verify"
# A credential JWT is well under 2 KB; anything longer is not ours (and is answered "invalid").
MAX_TOKEN_LENGTH = 4096


def _verify_url(request: Request[Any, Any, Any]) -> str:
    # request.base_url ignores X-Forwarded-Host: behind a proxy, set the proxy to pass Host.
    return str(request.base_url).rstrip("/") + VERIFY_PATH


class CertificateOfficeController(Controller):
    path = "/api/v1/certificates"
    tags = ["certificates"]

    @post("/", summary="Issue a certificate (needs a passed exam, R-CERT-1)", status_code=201, raises=CHANGE_ERRORS)
    async def issue(
        self, principal: NamedDependency[Principal], data: JSONBody[schemas.CertificateIn]
    ) -> schemas.CertificateDetail:
        return await service.issue(principal=principal, data=data)

    @get("/", summary="List and search certificates of the caller's agency", raises=AUTH_ERRORS)
    async def list_certificates(
        self,
        principal: NamedDependency[Principal],
        status: Annotated[schemas.StatusFilter | None, QueryParameter()] = None,
        expiring_within_days: Annotated[int | None, QueryParameter(ge=0, le=3650)] = None,
        domain: Annotated[str | None, QueryParameter(max_length=64)] = None,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> schemas.CertificatePage:
        query = schemas.CertificateQuery(
            status=status,
            expiring_within_days=expiring_within_days,
            domain=domain,
            q=q,
            limit=limit,
            offset=offset,
        )
        return await service.list_certificates(principal=principal, query=query)

    @get("/{certificate_id:uuid}", summary="One certificate with its history", raises=AUTH_ERRORS)
    async def get_certificate(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID]
    ) -> schemas.CertificateDetail:
        return await service.get_certificate(principal=principal, certificate_id=certificate_id)

    @post("/{certificate_id:uuid}/suspend", summary="Suspend (暂扣)", status_code=200, raises=CHANGE_ERRORS)
    async def suspend(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.SuspendIn]
    ) -> schemas.CertificateDetail:
        return await service.suspend(principal=principal, certificate_id=certificate_id, data=data)

    @post("/{certificate_id:uuid}/reinstate", summary="Reinstate a suspended certificate", status_code=200, raises=CHANGE_ERRORS)
    async def reinstate(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.ReinstateIn]
    ) -> schemas.CertificateDetail:
        return await service.reinstate(principal=principal, certificate_id=certificate_id, data=data)

    @post("/{certificate_id:uuid}/revoke", summary="Revoke (注销, terminal)", status_code=200, raises=CHANGE_ERRORS)
    async def revoke(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.RevokeIn]
    ) -> schemas.CertificateDetail:
        return await service.revoke(principal=principal, certificate_id=certificate_id, data=data)

    @post("/{certificate_id:uuid}/renew", summary="Renew: new validity, same holder", status_code=200, raises=CHANGE_ERRORS)
    async def renew(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.RenewIn]
    ) -> schemas.CertificateDetail:
        return await service.renew(principal=principal, certificate_id=certificate_id, data=data)

    @post(
        "/{certificate_id:uuid}/card-recoveries/{task_id:uuid}",
        summary="Record card recovery, hand-over to the Justice Bureau, or its disposition (R-CERT-3)",
        status_code=200,
        raises=CHANGE_ERRORS,
    )
    async def card_step(
        self,
        principal: NamedDependency[Principal],
        certificate_id: FromPath[UUID],
        task_id: FromPath[UUID],
        data: JSONBody[schemas.CardStepIn],
    ) -> schemas.CertificateDetail:
        return await service.record_card_step(principal=principal, certificate_id=certificate_id, task_id=task_id, data=data)


class CertificateMobileController(Controller):
    """The officer's own certificates: status, signed credential, QR code."""

    path = "/api/mobile/v1/certificates"
    tags = ["mobile", "certificates"]

    @get("/", summary="My certificates and whether they verify now", raises=AUTH_ERRORS)
    async def mine(self, principal: NamedDependency[Principal]) -> schemas.MyCertificates:
        return await service.certificate_status_for_user(user_id=principal.user_id)

    @get("/{certificate_id:uuid}/credential", summary="A signed credential token (≤ 24 h)", raises=CHANGE_ERRORS)
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
        "/{certificate_id:uuid}/qr.png", summary="The credential as a QR code (PNG)", media_type="image/png", raises=CHANGE_ERRORS
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
        raises=CHANGE_ERRORS,
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
        return await service.issue_credential(
            keys=keys,
            principal=principal,
            certificate_id=certificate_id,
            ttl_s=settings.credential_ttl_s,
            verify_url=_verify_url(request),
        )


class PublicController(Controller):
    """No login. Nothing private is answered here."""

    path = "/public/v1"
    tags = ["public"]

    @get("/keys", summary="JWKS: the current and recent public signing keys")
    async def keys(self, keys: NamedDependency[KeyRing]) -> Response[dict[str, list[dict[str, str]]]]:
        return Response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @get("/keys/archive", summary="Every public key that ever signed a check-in snapshot")
    async def archived_keys(self) -> dict[str, list[dict[str, str]]]:
        return await service.archived_keys()

    @get(
        "/certificates/verify",
        summary="Verify a certificate credential: its CURRENT status",
        raises=[TooManyRequestsException, ValidationException],
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
            result = await service.verify_public(keys=keys, token="")
        else:
            result = await service.verify_public(keys=keys, token=token)
        return Response(result, headers={"Cache-Control": "no-store"})


ROUTES: list[Any] = [CertificateOfficeController, CertificateMobileController, PublicController]
