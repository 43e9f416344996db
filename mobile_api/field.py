"""The officer's phone API for the field workflow (/api/mobile/v1): thin controllers only.

Writes carry client-generated UUIDs, so a record created offline and sent again is the same
record; the Idempotency-Key middleware replays whole answers on top of that.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.core.access import declared
from backend.core.auth import Principal
from backend.core.errors import Conflict, DuplicateValue, IllegalTransition, NotFound
from backend.core.http.openapi import PHONE_WRITE, SIGNED_IN, WITH_INPUT, problems
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.field import (
    action_schemas,
    actions,
    check_in,
    devices,
    gaps,
    phone,
    phone_schemas,
    recording,
    recusal,
    rules,
    schemas,
    transitions,
)
from backend.field.cases import CaseArchived
from backend.field.certificate_shown import CertificateNotShown
from backend.field.check_in import CheckInRefused
from backend.field.device_status import DeviceRevoked
from backend.field.devices import ManifestSignatureInvalid
from backend.field.entrusted import DomainNotCovered
from backend.field.recusal import RecusalAlreadyDeclared
from backend.field.rules import NotAssigned
from backend.field.transitions import ActionStartBlocked, VideoCoverageIncomplete

# An action outside the caller's agency is 404; writing to one needs a participant (403).
ACTION_READ = (*SIGNED_IN, *WITH_INPUT, NotFound)
ACTION_WRITE = (*ACTION_READ, *PHONE_WRITE, NotAssigned)


class FieldPhoneController(Controller):
    path = "/api/mobile/v1"
    tags = ["mobile: field"]

    @get(
        "/me",
        summary="The officer, certificate status and today's actions",
        responses=problems(SIGNED_IN, NotFound),
        opt=declared(rules.ME),
    )
    async def me(self, principal: NamedDependency[Principal]) -> phone_schemas.MeOut:
        return await phone.me(principal=principal)

    @get(
        "/actions/{action_id:uuid}",
        summary="Action checklist: what is still required",
        responses=problems(ACTION_READ),
        opt=declared(rules.PHONE_READ),
    )
    async def checklist(
        self, principal: NamedDependency[Principal], settings: NamedDependency[Settings], action_id: FromPath[UUID]
    ) -> phone_schemas.ChecklistOut:
        return await phone.checklist(principal=principal, action_id=action_id, settings=settings)

    @post(
        "/actions/{action_id:uuid}/check-ins",
        summary="Check in: verifies the certificate and stores the signed snapshot (R-CERT-4)",
        status_code=201,
        responses=problems(ACTION_WRITE, Conflict, IllegalTransition, CheckInRefused, DeviceRevoked, DomainNotCovered),
        opt=declared(rules.ACTION_ON_SITE),
    )
    async def check_in(
        self,
        principal: NamedDependency[Principal],
        keys: NamedDependency[KeyRing],
        settings: NamedDependency[Settings],
        action_id: FromPath[UUID],
        data: JSONBody[action_schemas.CheckInIn],
    ) -> action_schemas.CheckInOut:
        return await check_in.check_in(principal=principal, keys=keys, settings=settings, action_id=action_id, data=data)

    @post(
        "/actions/{action_id:uuid}/recusals",
        summary="Declare no conflict, or a conflict on one of the three grounds (R-RCS)",
        status_code=201,
        responses=problems(ACTION_WRITE, Conflict, DuplicateValue, RecusalAlreadyDeclared),
        opt=declared(rules.ACTION_ON_SITE),
    )
    async def declare_recusal(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], data: JSONBody[schemas.RecusalIn]
    ) -> schemas.RecusalOut:
        action = await actions.action_row(principal=principal, action_id=action_id)
        await actions.ensure_participant(principal=principal, action=action)
        return await recusal.declare(principal=principal, action=action, data=data)

    @post(
        "/actions/{action_id:uuid}/recording-sessions",
        summary="Open a recording session from this device (R-REC-3)",
        status_code=201,
        responses=problems(ACTION_WRITE, Conflict, IllegalTransition),
        opt=declared(rules.ACTION_ON_SITE),
    )
    async def open_recording(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], data: JSONBody[action_schemas.RecordingSessionIn]
    ) -> action_schemas.RecordingSessionOut:
        return await recording.open_recording(principal=principal, action_id=action_id, data=data)

    @post(
        "/actions/{action_id:uuid}/recording-sessions/{session_id:uuid}/close",
        summary="Close a recording session",
        status_code=200,
        responses=problems(ACTION_READ, PHONE_WRITE),
        opt=declared(rules.RECORDING_CLOSE),
    )
    async def close_recording(
        self,
        principal: NamedDependency[Principal],
        action_id: FromPath[UUID],
        session_id: FromPath[UUID],
        data: JSONBody[action_schemas.RecordingCloseIn],
    ) -> action_schemas.RecordingSessionOut:
        return await recording.close_recording(principal=principal, action_id=action_id, session_id=session_id, data=data)

    @post(
        "/actions/{action_id:uuid}/start",
        summary="Start the action (409 lists what is missing)",
        status_code=200,
        responses=problems(ACTION_WRITE, IllegalTransition, ActionStartBlocked, CaseArchived),
        opt=declared(rules.ACTION_ON_SITE),
    )
    async def start(
        self,
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        action_id: FromPath[UUID],
        data: JSONBody[action_schemas.TransitionIn],
    ) -> action_schemas.ActionOut:
        return await transitions.start_action(principal=principal, action_id=action_id, data=data, settings=settings)

    @post(
        "/actions/{action_id:uuid}/end",
        summary="End the on-site action",
        status_code=200,
        responses=problems(ACTION_WRITE, IllegalTransition),
        opt=declared(rules.ACTION_ON_SITE),
    )
    async def end(
        self,
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        action_id: FromPath[UUID],
        data: JSONBody[action_schemas.TransitionIn],
    ) -> action_schemas.ActionOut:
        return await transitions.end_action(principal=principal, action_id=action_id, data=data, settings=settings)

    @post(
        "/actions/{action_id:uuid}/close",
        summary="Close the action (409 video-coverage-incomplete lists unexplained gaps)",
        status_code=200,
        responses=problems(ACTION_WRITE, IllegalTransition, VideoCoverageIncomplete, CertificateNotShown),
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
        "/actions/{action_id:uuid}/coverage",
        summary="Video coverage of the action (R-REC-4)",
        responses=problems(ACTION_READ),
        opt=declared(rules.ACTION_READ),
    )
    async def coverage(
        self, principal: NamedDependency[Principal], settings: NamedDependency[Settings], action_id: FromPath[UUID]
    ) -> action_schemas.CoverageReportOut:
        return await gaps.coverage_report(principal=principal, action_id=action_id, settings=settings)

    @post(
        "/actions/{action_id:uuid}/gap-reasons",
        summary="Record why the recording has a gap (a supervisor approves it)",
        status_code=201,
        responses=problems(ACTION_WRITE, Conflict, IllegalTransition),
        opt=declared(rules.GAP_REASON),
    )
    async def gap_reason(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], data: JSONBody[action_schemas.GapReasonIn]
    ) -> action_schemas.GapReasonOut:
        return await gaps.record_gap_reason(principal=principal, action_id=action_id, data=data)

    @post(
        "/actions/{action_id:uuid}/manifests",
        summary="Submit an offline capture manifest signed with the device key (R-REC-5)",
        status_code=201,
        responses=problems(ACTION_WRITE, Conflict, DeviceRevoked, ManifestSignatureInvalid),
        opt=declared(rules.ACTION_ON_SITE),
    )
    async def manifest(
        self,
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        action_id: FromPath[UUID],
        data: JSONBody[phone_schemas.ManifestIn],
    ) -> phone_schemas.ManifestOut:
        return await devices.submit_manifest(principal=principal, action_id=action_id, data=data, settings=settings)

    @get(
        "/actions/{action_id:uuid}/manifests/{manifest_id:uuid}",
        summary="Manifest with per-file match status",
        responses=problems(ACTION_READ),
        opt=declared(rules.PHONE_READ),
    )
    async def get_manifest(
        self, principal: NamedDependency[Principal], action_id: FromPath[UUID], manifest_id: FromPath[UUID]
    ) -> phone_schemas.ManifestOut:
        return await devices.get_manifest(principal=principal, action_id=action_id, manifest_id=manifest_id)

    @post(
        "/devices",
        summary="Register this phone's Ed25519 key",
        status_code=201,
        responses=problems(SIGNED_IN, WITH_INPUT, PHONE_WRITE, Conflict, DuplicateValue, DeviceRevoked),
        opt=declared(rules.DEVICE_REGISTER),
    )
    async def register_device(
        self, principal: NamedDependency[Principal], data: JSONBody[phone_schemas.DeviceIn]
    ) -> phone_schemas.DeviceOut:
        return await devices.register_device(principal=principal, data=data)

    @get("/devices", summary="My registered devices", responses=problems(SIGNED_IN), opt=declared(rules.DEVICE_MINE))
    async def my_devices(self, principal: NamedDependency[Principal]) -> list[phone_schemas.DeviceOut]:
        return await devices.list_devices(principal=principal, user_id=principal.user_id)


ROUTES: list[Any] = [FieldPhoneController]
