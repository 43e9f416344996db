"""Office API: action kinds exempt by law from showing the certificate, each with its legal
citation (R-CERT-5 "另有规定的除外"). Thin: the rule lives in backend.field.certificate_shown."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, Forbidden
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.field import certificate_shown, rules


class CertificateExemptionController(Controller):
    path = "/api/v1/certificate-exemptions"
    tags = ["field: actions"]

    @get(
        "/",
        summary="Action kinds exempt from showing the certificate, with citations",
        responses=problems(SIGNED_IN),
        opt=declared(rules.CERTIFICATE_EXEMPTIONS_READ),
    )
    async def list_exemptions(self, principal: NamedDependency[Principal]) -> list[certificate_shown.ExemptionOut]:
        return await certificate_shown.exemptions(principal=principal)

    @post(
        "/",
        summary="Exempt an action kind from showing the certificate, citing the law (admin, R-CERT-5)",
        status_code=201,
        responses=problems(SIGNED_IN, WITH_INPUT, Forbidden, Conflict),
        opt=declared(rules.CERTIFICATE_EXEMPT),
    )
    async def exempt(
        self, principal: NamedDependency[Principal], data: JSONBody[certificate_shown.ExemptionIn]
    ) -> certificate_shown.ExemptionOut:
        return await certificate_shown.exempt(principal=principal, data=data)


ROUTES: list[Any] = [CertificateExemptionController]
