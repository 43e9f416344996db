"""Office API: recording the service of an issued decision (/api/v1), whose periods a forced
demolition waits for (issue 14, found #7). Thin: the rule lives in backend.decisions.execution."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.decisions import execution
from backend.decisions.rules import DRAFT


class DecisionServiceController(Controller):
    path = "/api/v1/decisions/{decision_id:uuid}"
    tags = ["decisions"]

    @post(
        "/service",
        summary="Record the service of an issued decision and the party's deadline (行政强制法 Art.44)",
        status_code=201,
        responses=problems(SIGNED_IN, WITH_INPUT, NotFound, Forbidden, InvalidInput, Conflict),
        opt=declared(DRAFT),
    )
    async def record_service(
        self, principal: NamedDependency[Principal], decision_id: FromPath[UUID], data: JSONBody[execution.DecisionServiceIn]
    ) -> execution.DecisionServiceOut:
        return await execution.record_decision_service(principal=principal, decision_id=decision_id, data=data)


ROUTES: list[Any] = [DecisionServiceController]
