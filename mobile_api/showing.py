"""Phone API: the officer records showing the certificate on an action (R-CERT-5). Thin: the
rule lives in backend.field.certificate_shown."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.http.openapi import PHONE_WRITE, SIGNED_IN, WITH_INPUT, problems
from backend.field import certificate_shown, rules
from backend.field.cases import NotCheckedIn
from backend.field.rules import NotAssigned


@post(
    "/api/mobile/v1/actions/{action_id:uuid}/certificate-shown",
    summary="I wore or showed my certificate on this action (R-CERT-5)",
    description="After a successful check-in; optionally names a photo or video of the certificate shown.",
    tags=["phone: actions"],
    status_code=201,
    responses=problems(SIGNED_IN, WITH_INPUT, PHONE_WRITE, NotFound, Forbidden, NotAssigned, NotCheckedIn, Conflict),
    opt=declared(rules.ACTION_ON_SITE),
)
async def certificate_shown_on_action(
    principal: NamedDependency[Principal], action_id: FromPath[UUID], data: JSONBody[certificate_shown.CertificateShownIn]
) -> certificate_shown.CertificateShownOut:
    return await certificate_shown.record_shown(principal=principal, action_id=action_id, data=data)


ROUTES: list[Any] = [certificate_shown_on_action]
