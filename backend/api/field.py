"""Office API of the field workflow (/api/v1): cases, stages, assignments, actions, recusal
requests, gap approvals and coverage reports. Thin: every rule lives in backend.field."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter

from backend.core.access import agency_parts, authorize, declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, DuplicateValue, Forbidden, IllegalTransition, InvalidInput, NotFound
from backend.core.http.openapi import SIGNED_IN, WITH_INPUT, problems
from backend.core.settings import Settings
from backend.field import action_schemas, actions, devices, gaps, phone_schemas, recusal, rules, schemas, stages, transitions
from backend.field import cases as service
from backend.field.cases import (
    AgencyNotConfirmed,
    CaseArchived,
    MatterOutsidePowers,
    SeparationOfFunctions,
)
from backend.field.certificate_shown import CertificateNotShown
from backend.field.declarations import RecusalNotDeclared
from backend.field.entrusted import DomainNotCovered
from backend.field.execution_basis import ExecutionBasisMissing
from backend.field.rules import NotAssigned
from backend.field.stage_records import CaseCloseBlocked
from backend.field.stages import StageRecordMissing
from backend.field.transitions import VideoCoverageIncomplete

# Every route names a case, action or device of the caller's agency (404 otherwise); the rest
# of each list is what the service called raises.
ON_RECORD = (*SIGNED_IN, *WITH_INPUT, NotFound)
# Why a cross-agency reader reads (R-SUP-2, R-AGY-6): ledgered with the read.
Purpose = Annotated[str | None, QueryParameter(max_length=500)]


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["field: cases"]

    @post(
        "/",
        summary="Open a case (立案) within the agency's powers (R-AGY-1/3)",
        status_code=201,
        responses=problems(
            ON_RECORD,
            Forbidden,
            InvalidInput,
            DuplicateValue,
            AgencyNotConfirmed,
            MatterOutsidePowers,
            SeparationOfFunctions,
            RecusalNotDeclared,
        ),
        opt=declared(rules.CASE_OPEN),
    )
    async def create_case(
        self, principal: NamedDependency[Principal], settings: NamedDependency[Settings], data: JSONBody[schemas.CaseIn]
    ) -> schemas.CaseOut:
        salt = service.party_salt(settings.effective_key_dir)
        return await service.create_case(principal=principal, data=data, id_salt=salt)

    @get("/", summary="Cases of the caller's agency", responses=problems(SIGNED_IN, WITH_INPUT), opt=declared(rules.CASE_LIST))
    async def list_cases(
        self,
        principal: NamedDependency[Principal],
        stage: FromQuery[schemas.Stage | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        agency_id: FromQuery[UUID | None] = None,
        purpose: Purpose = None,
    ) -> list[schemas.CaseOut]:
        """``agency_id``: another agency's cases the caller oversees (Justice Bureau, entrusting agency)."""
        return await service.list_cases(principal=principal, stage=stage, limit=limit, agency_id=agency_id, purpose=purpose)

    @get("/{case_id:uuid}", summary="One case", responses=problems(ON_RECORD), opt=declared(rules.CASE_READ))
    async def get_case(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], purpose: Purpose = None
    ) -> schemas.CaseOut:
        return await service.get_case(principal=principal, case_id=case_id, purpose=purpose)

    @post(
        "/{case_id:uuid}/officers",
        summary="Assign an officer (lead 主办 / assisting 协办)",
        status_code=201,
        responses=problems(ON_RECORD, Forbidden, Conflict, CaseArchived, SeparationOfFunctions, RecusalNotDeclared),
        opt=declared(rules.CASE_ASSIGN),
    )
    async def assign(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.OfficerAssignmentIn]
    ) -> schemas.CaseOut:
        return await service.assign_officer(principal=principal, case_id=case_id, data=data)

    @post(
        "/{case_id:uuid}/records",
        summary="File a document or capture in the current stage (R-REC-1)",
        status_code=201,
        responses=problems(ON_RECORD, Forbidden, DuplicateValue, CaseArchived),
        opt=declared(rules.CASE_ADD_RECORD),
    )
    async def add_record(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.CaseRecordIn]
    ) -> schemas.CaseRecordOut:
        return await stages.add_record(principal=principal, case_id=case_id, data=data)

    @get(
        "/{case_id:uuid}/records", summary="Records filed per stage", responses=problems(ON_RECORD), opt=declared(rules.CASE_READ)
    )
    async def list_records(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], purpose: Purpose = None
    ) -> list[schemas.CaseRecordOut]:
        return await stages.list_records(principal=principal, case_id=case_id, purpose=purpose)

    @post(
        "/{case_id:uuid}/stage",
        summary="Move to the next stage (needs a record in the current one)",
        status_code=200,
        responses=problems(ON_RECORD, Forbidden, InvalidInput, CaseArchived, StageRecordMissing, CaseCloseBlocked),
        opt=declared(rules.CASE_ADVANCE),
    )
    async def advance(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.StageAdvanceIn]
    ) -> schemas.CaseOut:
        return await stages.advance_stage(principal=principal, case_id=case_id, data=data)

    @get("/{case_id:uuid}/actions", summary="Actions of a case", responses=problems(ON_RECORD), opt=declared(rules.CASE_READ))
    async def list_actions(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], purpose: Purpose = None
    ) -> list[action_schemas.ActionOut]:
        return await actions.list_actions(principal=principal, case_id=case_id, purpose=purpose)

    @get(
        "/{case_id:uuid}/recusals",
        summary="Recusal declarations (immutable, R-RCS-5)",
        responses=problems(ON_RECORD),
        opt=declared(rules.CASE_READ),
    )
    async def declarations(self, principal: NamedDependency[Principal], case_id: FromPath[UUID]) -> list[schemas.RecusalOut]:
        await service.get_case(principal=principal, case_id=case_id)
        return await recusal.list_declarations(case_id=case_id)

    @post(
        "/{case_id:uuid}/recusal-requests",
        summary="Record a recusal request (e.g. from the party)",
        status_code=201,
        responses=problems(ON_RECORD, Conflict),
        opt=declared(rules.RECUSAL_REQUEST),
    )
    async def raise_request(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID], data: JSONBody[schemas.RecusalRequestIn]
    ) -> schemas.RecusalRequestOut:
        return await recusal.raise_request(principal=principal, case_id=case_id, data=data)

    @get(
        "/{case_id:uuid}/recusal-requests",
        summary="Recusal requests of a case",
        responses=problems(ON_RECORD),
        opt=declared(rules.CASE_READ),
    )
    async def list_requests(
        self, principal: NamedDependency[Principal], case_id: FromPath[UUID]
    ) -> list[schemas.RecusalRequestOut]:
        return await recusal.list_requests(principal=principal, case_id=case_id)

    @post(
        "/{case_id:uuid}/recusal-requests/{request_id:uuid}/decision",
        summary="Decide a recusal request with reasons (responsible person)",
        status_code=200,
        responses=problems(ON_RECORD, Forbidden, Conflict),
        opt=declared(rules.RECUSAL_DECIDE),
    )
    async def decide_request(
        self,
        principal: NamedDependency[Principal],
        case_id: FromPath[UUID],
        request_id: FromPath[UUID],
        data: JSONBody[schemas.RecusalDecisionIn],
    ) -> schemas.RecusalRequestOut:
        return await recusal.decide_request(principal=principal, case_id=case_id, request_id=request_id, data=data)


class ActionController(Controller):
    path = "/api/v1/actions"
    tags = ["field: actions"]

    @post(
        "/",
        summary="Plan an action (kind, time, place, participants)",
        status_code=201,
        responses=problems(
            ON_RECORD, Forbidden, InvalidInput, Conflict, DuplicateValue, CaseArchived, DomainNotCovered, ExecutionBasisMissing
        ),
        opt=declared(rules.ACTION_PLAN),
    )
    async def create_action(
        self, principal: NamedDependency[Principal], data: JSONBody[action_schemas.ActionIn]
    ) -> action_schemas.ActionOut:
        return await actions.create_action(principal=principal, data=data)

    @get(
        "/{action_id:uuid}",
        summary="One action with participants and transitions",
        responses=problems(ON_RECORD),
        opt=declared(rules.ACTION_READ),
    )
    async def get_action(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], purpose: Purpose = None
    ) -> action_schemas.ActionOut:
        return await actions.get_action(principal=principal, action_id=action_id, purpose=purpose)

    @post(
        "/{action_id:uuid}/participants",
        summary="Add a case officer to the action",
        status_code=201,
        responses=problems(ON_RECORD, Forbidden, InvalidInput, Conflict, IllegalTransition),
        opt=declared(rules.ACTION_ADD_PARTICIPANT),
    )
    async def add_participant(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], data: JSONBody[action_schemas.ParticipantIn]
    ) -> action_schemas.ActionOut:
        return await actions.add_participant(principal=principal, action_id=action_id, data=data)

    @post(
        "/{action_id:uuid}/coercion-reason",
        summary="Why non-coercive means do not suffice (R-DISC-6)",
        status_code=200,
        responses=problems(ON_RECORD, Forbidden, IllegalTransition),
        opt=declared(rules.ACTION_COERCION_REASON),
    )
    async def coercion_reason(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], data: JSONBody[action_schemas.CoercionReasonIn]
    ) -> action_schemas.ActionOut:
        return await transitions.record_coercion_reason(principal=principal, action_id=action_id, data=data)

    @post(
        "/{action_id:uuid}/close",
        summary="Close the action (supervisor)",
        status_code=200,
        responses=problems(ON_RECORD, NotAssigned, IllegalTransition, VideoCoverageIncomplete, CertificateNotShown),
        opt=declared(rules.ACTION_CLOSE),
    )
    async def close(
        self,
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        action_id: FromPath[UUID],
        data: JSONBody[action_schemas.TransitionIn],
    ) -> action_schemas.ActionOut:
        return await transitions.close_action(principal=principal, action_id=action_id, data=data, settings=settings)

    @get(
        "/{action_id:uuid}/coverage",
        summary="Current video coverage: intervals, gaps, reasons (R-REC-4)",
        responses=problems(ON_RECORD),
        opt=declared(rules.ACTION_READ),
    )
    async def coverage(
        self, principal: NamedDependency[Principal], settings: NamedDependency[Settings], action_id: FromPath[UUID]
    ) -> action_schemas.CoverageReportOut:
        return await gaps.coverage_report(principal=principal, action_id=action_id, settings=settings)

    @post(
        "/{action_id:uuid}/coverage/reports",
        summary="Compute and store a coverage report",
        status_code=201,
        responses=problems(ON_RECORD),
        opt=declared(rules.COVERAGE_STORE),
    )
    async def store_coverage(
        self, principal: NamedDependency[Principal], settings: NamedDependency[Settings], action_id: FromPath[UUID]
    ) -> action_schemas.CoverageReportOut:
        return await gaps.coverage_report(principal=principal, action_id=action_id, settings=settings, store=True)

    @get(
        "/{action_id:uuid}/coverage/reports",
        summary="Stored coverage reports, oldest first",
        responses=problems(ON_RECORD),
        opt=declared(rules.ACTION_READ),
    )
    async def stored_coverage(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID]
    ) -> list[action_schemas.CoverageReportOut]:
        return await gaps.stored_reports(principal=principal, action_id=action_id)

    @get(
        "/{action_id:uuid}/gap-reasons",
        summary="Recorded reasons for recording gaps",
        responses=problems(ON_RECORD),
        opt=declared(rules.ACTION_READ),
    )
    async def gap_reasons(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID]
    ) -> list[action_schemas.GapReasonOut]:
        return await gaps.list_gap_reasons(principal=principal, action_id=action_id)

    @post(
        "/{action_id:uuid}/gap-reasons/{reason_id:uuid}/approve",
        summary="Approve a gap reason (supervisor, R-REC-4)",
        status_code=200,
        responses=problems(ON_RECORD, Forbidden, Conflict),
        opt=declared(rules.GAP_APPROVE),
    )
    async def approve_gap(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], reason_id: FromPath[UUID]
    ) -> action_schemas.GapReasonOut:
        return await gaps.approve_gap_reason(principal=principal, action_id=action_id, reason_id=reason_id)


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["field: devices"]

    @get(
        "/",
        summary="Registered phones of the agency (admin)",
        responses=problems(SIGNED_IN, WITH_INPUT, Forbidden),
        opt=declared(rules.DEVICE_LIST),
    )
    async def list_devices(
        self, principal: NamedDependency[Principal], user_id: FromQuery[UUID | None] = None
    ) -> list[phone_schemas.DeviceOut]:
        authorize(agency_parts(principal), rules.DEVICE_LIST)
        return await devices.list_devices(principal=principal, user_id=user_id)

    @post(
        "/{device_id:uuid}/revoke",
        summary="Revoke a lost phone's key (admin)",
        status_code=200,
        responses=problems(ON_RECORD, Forbidden),
        opt=declared(rules.DEVICE_REVOKE),
    )
    async def revoke(self, principal: NamedDependency[Principal], device_id: FromPath[UUID]) -> phone_schemas.DeviceOut:
        return await devices.revoke_device(principal=principal, device_id=device_id)


ROUTES: list[Any] = [CaseController, ActionController, DeviceController]
