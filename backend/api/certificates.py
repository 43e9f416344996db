"""Office HTTP of the certificates area (/api/v1/certificates): issuing, status changes, cards.

Thin controllers: every rule lives in the ``certificates`` package. The phone's routes are in
``mobile_api/certificates.py``, the public verification in ``backend/api/public.py``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, DuplicateValue, Forbidden, IllegalTransition, InvalidInput, NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from certificates import cards, issuing, listing, reading, rules, schemas, transitions
from certificates.issuing import ExamNotPassed

# A certificate outside the caller's reach is 404 (also on status changes: issue #4).
CERTIFICATE = (*SIGNED_IN, *WITH_INPUT, NotFound)
STATUS_CHANGE = (*CERTIFICATE, Conflict, IllegalTransition)


class CertificateOfficeController(Controller):
    path = "/api/v1/certificates"
    tags = ["certificates"]

    @post(
        "/",
        summary="Issue a certificate (needs a passed exam, R-CERT-1)",
        status_code=201,
        responses=problems(CERTIFICATE, Forbidden, InvalidInput, DuplicateValue, ExamNotPassed),
        opt=declared(rules.ISSUE),
    )
    async def issue(
        self, principal: NamedDependency[Principal], data: JSONBody[schemas.CertificateIn]
    ) -> schemas.CertificateDetail:
        return await issuing.issue(principal=principal, data=data)

    @get(
        "/",
        summary="List and search certificates of the caller's agency",
        responses=problems(SIGNED_IN, WITH_INPUT, Forbidden),
        opt=declared(rules.LIST),
    )
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
        return await listing.list_certificates(principal=principal, query=query)

    @get(
        "/{certificate_id:uuid}",
        summary="One certificate with its history",
        responses=problems(CERTIFICATE),
        opt=declared(rules.READ),
    )
    async def get_certificate(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID]
    ) -> schemas.CertificateDetail:
        return await reading.get_certificate(principal=principal, certificate_id=certificate_id)

    @post(
        "/{certificate_id:uuid}/suspend",
        summary="Suspend (暂扣)",
        status_code=200,
        responses=problems(STATUS_CHANGE, InvalidInput),
        opt=declared(rules.MANAGE),
    )
    async def suspend(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.SuspendIn]
    ) -> schemas.CertificateDetail:
        return await transitions.suspend(principal=principal, certificate_id=certificate_id, data=data)

    @post(
        "/{certificate_id:uuid}/reinstate",
        summary="Reinstate a suspended certificate",
        status_code=200,
        responses=problems(STATUS_CHANGE),
        opt=declared(rules.MANAGE),
    )
    async def reinstate(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.ReinstateIn]
    ) -> schemas.CertificateDetail:
        return await transitions.reinstate(principal=principal, certificate_id=certificate_id, data=data)

    @post(
        "/{certificate_id:uuid}/revoke",
        summary="Revoke (注销, terminal)",
        status_code=200,
        responses=problems(STATUS_CHANGE),
        opt=declared(rules.MANAGE),
    )
    async def revoke(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.RevokeIn]
    ) -> schemas.CertificateDetail:
        return await transitions.revoke(principal=principal, certificate_id=certificate_id, data=data)

    @post(
        "/{certificate_id:uuid}/renew",
        summary="Renew: new validity, same holder",
        status_code=200,
        responses=problems(STATUS_CHANGE, InvalidInput, ExamNotPassed),
        opt=declared(rules.MANAGE),
    )
    async def renew(
        self, principal: NamedDependency[Principal], certificate_id: FromPath[UUID], data: JSONBody[schemas.RenewIn]
    ) -> schemas.CertificateDetail:
        return await transitions.renew(principal=principal, certificate_id=certificate_id, data=data)

    @post(
        "/{certificate_id:uuid}/card-recoveries/{task_id:uuid}",
        summary="Record card recovery, hand-over to the Justice Bureau, or its disposition (R-CERT-3)",
        status_code=200,
        responses=problems(CERTIFICATE, IllegalTransition),
        opt=declared(rules.MANAGE),
    )
    async def card_step(
        self,
        principal: NamedDependency[Principal],
        certificate_id: FromPath[UUID],
        task_id: FromPath[UUID],
        data: JSONBody[schemas.CardStepIn],
    ) -> schemas.CertificateDetail:
        return await cards.record_card_step(principal=principal, certificate_id=certificate_id, task_id=task_id, data=data)


ROUTES: list[Any] = [CertificateOfficeController]
