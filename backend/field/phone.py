"""What the phone shows: the action checklist and the officer's `me` screen."""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.core.auth import Principal
from backend.core.settings import Settings
from backend.field import phone_schemas
from backend.field.actions import action_out, action_row, todays_actions
from backend.field.devices import manifest_flags
from backend.field.gaps import coverage_report, pending_uploads
from backend.field.tables import Case
from backend.field.transitions import start_requirements
from backend.org import service as org_service
from certificates import listing as certificate_listing


async def checklist(*, principal: Principal, action_id: UUID, settings: Settings) -> phone_schemas.ChecklistOut:
    """Everything still required for this action, so the phone can drive its screen from it."""
    row = await action_row(principal=principal, action_id=action_id)
    gate = await start_requirements(row)
    report = await coverage_report(principal=principal, action_id=action_id, settings=settings) if row.requires_av else None
    todo = [m["code"] + (f":{m['user_id']}" if "user_id" in m else "") for m in gate.missing] if row.state == "planned" else []
    if report is not None and row.state in {"in_progress", "ended"}:
        todo += [f"av_gap:{g.start.isoformat()}/{g.end.isoformat()}" for g in report.gaps if not g.approved]
    reference = await Case.select(Case.reference).where(Case.id == row.case_id).output(as_list=True)
    assert reference
    return phone_schemas.ChecklistOut(
        action=await action_out(row),
        case_reference=reference[0],
        ready_to_start=row.state == "planned" and not gate.missing,
        ready_to_close=row.state == "ended" and (report is None or report.complete),
        missing=todo,
        valid_check_ins=len(gate.checked_in),
        required_check_ins=gate.required,
        checked_in_user_ids=sorted(gate.checked_in, key=str),
        recusals_missing_user_ids=[u for u in gate.participants if u not in gate.declared],
        open_recording_sessions=gate.sessions,
        coverage=report,
        pending_uploads=await pending_uploads(action_id=action_id),
        manifest_flags=await manifest_flags(action=row),
    )


async def me(*, principal: Principal) -> phone_schemas.MeOut:
    user = await org_service.get_user(principal=principal, user_id=principal.user_id)
    certificates = await certificate_listing.certificate_status_for_user(user_id=principal.user_id)
    return phone_schemas.MeOut(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        agency_id=user.agency_id,
        roles=user.roles,
        certificate=msgspec.to_builtins(certificates),
        todays_actions=await todays_actions(principal=principal),
    )
