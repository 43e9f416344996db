"""Office API of who is on a case or action (/api/v1): declaring on a case before being
assigned (R-RCS-2) and taking a wrongly assigned officer or planned participant off with a
reason. Thin: the rules live in backend.field.declarations and backend.field.removal."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, DuplicateValue, Forbidden, IllegalTransition, InvalidInput, NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.field import action_schemas, declarations, removal, rules, schemas
from backend.field.cases import CaseArchived
from backend.field.recusal import RecusalAlreadyDeclared

ON_RECORD = (*SIGNED_IN, *WITH_INPUT, NotFound, Forbidden)


class CaseAssignmentController(Controller):
    path = "/api/v1/cases/{case_id:uuid}"
    tags = ["field: cases"]

    @post(
        "/handler-declarations",
        summary="Declare on the recusal grounds for this case, before being assigned to it (R-RCS-1/2)",
        status_code=201,
        responses=problems(ON_RECORD, InvalidInput, DuplicateValue, RecusalAlreadyDeclared),
        opt=declared(rules.CASE_DECLARE),
    )
    async def declare(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.CaseDeclarationIn]
    ) -> schemas.RecusalOut:
        return await declarations.declare_on_case(principal=principal, case_id=case_id, data=data)

    @post(
        "/officers/{user_id:uuid}/removal",
        summary="Take an officer off the case with a reason (ledgered; declarations and check-ins stay)",
        status_code=200,
        responses=problems(ON_RECORD, CaseArchived),
        opt=declared(rules.CASE_REMOVE_OFFICER),
    )
    async def remove_officer(
        self,
        principal: NamedDependency[Principal],
        case_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[removal.RemovalIn],
    ) -> schemas.CaseOut:
        return await removal.remove_officer(principal=principal, case_id=case_id, user_id=user_id, data=data)


class ActionAssignmentController(Controller):
    path = "/api/v1/actions/{action_id:uuid}"
    tags = ["field: actions"]

    @post(
        "/participants/{user_id:uuid}/removal",
        summary="Take a planned participant off the action with a reason (ledgered; check-ins stay)",
        status_code=200,
        responses=problems(ON_RECORD, CaseArchived, IllegalTransition, Conflict),
        opt=declared(rules.ACTION_REMOVE_PARTICIPANT),
    )
    async def remove_participant(
        self,
        principal: NamedDependency[Principal],
        action_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[removal.RemovalIn],
    ) -> action_schemas.ActionOut:
        return await removal.remove_participant(principal=principal, action_id=action_id, user_id=user_id, data=data)


ROUTES: list[Any] = [CaseAssignmentController, ActionAssignmentController]
