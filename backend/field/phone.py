"""What the phone shows: the action checklist and the officer's `me` screen."""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.core.auth import Principal
from backend.core.settings import Settings
from backend.field import actions, schemas
from backend.field.devices import manifest_flags
from backend.field.tables import Case
from backend.org import service as org_service
from certificates import listing as certificate_listing


async def checklist(*, principal: Principal, action_id: UUID, settings: Settings) -> schemas.ChecklistOut:
    """Everything still required for this action, so the phone can drive its screen from it."""
    row = await actions.action_row(principal=principal, action_id=action_id)
    missing, facts = await actions.start_requirements(row)
    report = (
        await actions.coverage_report(principal=principal, action_id=action_id, settings=settings) if row["requires_av"] else None
    )
    todo = [m["code"] + (f":{m['user_id']}" if "user_id" in m else "") for m in missing] if row["state"] == "planned" else []
    if report is not None and row["state"] in {"in_progress", "ended"}:
        todo += [f"av_gap:{g.start.isoformat()}/{g.end.isoformat()}" for g in report.gaps if not g.approved]
    case = await Case.select(Case.reference).where(Case.id == row["case"]).first()
    assert case is not None
    return schemas.ChecklistOut(
        action=await actions.action_out(row),
        case_reference=case["reference"],
        ready_to_start=row["state"] == "planned" and not missing,
        ready_to_close=row["state"] == "ended" and (report is None or report.complete),
        missing=todo,
        valid_check_ins=len(facts["checked_in"]),
        required_check_ins=facts["required"],
        checked_in_user_ids=sorted(facts["checked_in"], key=str),
        recusals_missing_user_ids=[u for u in facts["participants"] if u not in facts["declared"]],
        open_recording_sessions=facts["sessions"],
        coverage=report,
        pending_uploads=await actions.pending_uploads(action_id=action_id),
        manifest_flags=await manifest_flags(action=row),
    )


async def me(*, principal: Principal) -> schemas.MeOut:
    user = await org_service.get_user(principal=principal, user_id=principal.user_id)
    certificates = await certificate_listing.certificate_status_for_user(user_id=principal.user_id)
    return schemas.MeOut(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        agency_id=user.agency_id,
        roles=user.roles,
        certificate=msgspec.to_builtins(certificates),
        todays_actions=await actions.todays_actions(principal=principal),
    )
