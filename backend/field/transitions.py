"""State changes of an action: the start gate, start, end and close, and the coercion reason.

Rules: R-CERT-4 (enough verified officers), R-RCS-3 (declare before each action), R-REC-3
(recording from before the start), R-REC-4 (no unexplained gap at close), R-DISC-6
(coercive measures need a reason). Each change keeps both clocks (server and device).
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, IllegalTransition, InvalidInput
from backend.core.rows import fetch_one
from backend.core.settings import Settings
from backend.field import action_schemas, certificate_shown, execution_basis, rules
from backend.field.actions import (
    action_out,
    action_row,
    active_participants,
    ensure_participant,
    ensure_state,
    get_action,
    skew,
)
from backend.field.cases import ensure_not_archived
from backend.field.check_in import valid_check_ins
from backend.field.gaps import coverage_report
from backend.field.recording import open_sessions
from backend.field.recusal import blocked_reason
from backend.field.relations import action_for
from backend.field.rows import ActionRow, CaseRow
from backend.field.tables import Action, ActionTransition, Case, RecusalDeclaration
from backend.ledger.service import append_case_event
from backend.org import service as org_service


class ActionStartBlocked(Conflict):
    slug = "action-start-blocked"
    title = "The action cannot start yet"


class VideoCoverageIncomplete(Conflict):
    slug = "video-coverage-incomplete"
    title = "The audio-video recording does not cover the whole action"


class CoercionReasonMissing(InvalidInput):
    slug = "coercion-reason-missing"
    title = "A coercive measure needs the reason why milder means do not suffice"


class StartGate(msgspec.Struct, kw_only=True):
    """What still blocks the start (``missing``, problem+json items) and the facts behind it."""

    missing: list[dict[str, Any]]
    participants: list[UUID]
    checked_in: set[UUID]
    required: int
    declared: set[UUID]
    sessions: int


# --- the start gate ---------------------------------------------------------------------


async def start_requirements(action: ActionRow) -> StartGate:
    """Everything still missing before the action may start, as structured items."""
    participants = await active_participants(action.id)
    agency = await org_service.get_agency(agency_id=action.agency_id)
    checked_in = await valid_check_ins(action.id, participants)
    declared = set(
        await RecusalDeclaration.select(RecusalDeclaration.user)
        .where((RecusalDeclaration.action == action.id) & (RecusalDeclaration.conflict == False))  # noqa: E712
        .output(as_list=True)
    )
    missing: list[dict[str, Any]] = []
    required = agency.min_checked_in_officers
    if len(checked_in) < required:
        # R-CERT-4 + national rule for on-site penalties: at least two (per agency) verified officers.
        missing.append(
            {
                "code": "check_ins",
                "detail": f"{len(checked_in)} of {required} valid check-ins",
                "have": len(checked_in),
                "need": required,
            }
        )
    for user_id in participants:
        if user_id not in declared:
            # R-RCS-3: every participant declares before each action.
            missing.append(
                {"code": "recusal_declaration", "user_id": str(user_id), "detail": "no recusal declaration for this action"}
            )
        reason = await blocked_reason(case_id=action.case_id, user_id=user_id)
        if reason:
            missing.append({"code": "recusal_blocked", "user_id": str(user_id), "detail": reason})
    sessions = await open_sessions(action.id, participants)
    if action.requires_av and sessions == 0:
        # R-REC-3: the recording runs from before the start.
        missing.append({"code": "recording_session", "detail": "no open recording session from a participant's device"})
    # Found #7 / 行政强制法 Art.44: the decision behind a forced demolition, served, periods run.
    missing += await execution_basis.missing(case_id=action.case_id, kind=action.kind, at=clock.now())
    if action.kind in action_schemas.COERCIVE_KINDS and not action.coercion_reason.strip():
        # R-DISC-6.
        missing.append({"code": "coercion_reason", "detail": "no recorded reason why non-coercive means do not suffice"})
    return StartGate(
        missing=missing,
        participants=participants,
        checked_in=checked_in,
        required=required,
        declared=declared,
        sessions=sessions,
    )


# --- transitions ------------------------------------------------------------------------


async def _transition(
    *, principal: Principal, action: ActionRow, to_state: str, stamp: action_schemas.TransitionIn, settings: Settings
) -> action_schemas.ActionOut:
    now = clock.now()
    skew_s, flagged = skew(stamp.device_time, now, settings.clock_skew_tolerance_s)
    column = {"in_progress": Action.started_at, "ended": Action.ended_at, "closed": Action.closed_at}[to_state]
    location = stamp.location
    async with write_transaction():
        updated = (
            await Action.update({Action.state: to_state, column: now})
            .where((Action.id == action.id) & (Action.state == action.state))
            .returning(Action.id)
        )
        if not updated:
            raise IllegalTransition("the action changed meanwhile; reload it")
        await ActionTransition.insert(
            ActionTransition(
                id=uuid.uuid4(),
                action=action.id,
                from_state=action.state,
                to_state=to_state,
                server_time=now,
                device_time=stamp.device_time,
                skew_s=skew_s,
                skew_flagged=flagged,
                latitude=location.latitude if location else None,
                longitude=location.longitude if location else None,
                accuracy_m=location.accuracy_m if location else None,
                by_user=principal.user_id,
            )
        )
        await append_case_event(
            principal=principal,
            event=f"action.{to_state}",
            case_id=action.case_id,
            action_id=action.id,
            details={"from": action.state, "device_time": stamp.device_time.isoformat(), "skew_s": skew_s},
        )
    return await get_action(principal=principal, action_id=action.id)


async def start_action(
    *, principal: Principal, action_id: UUID, data: action_schemas.TransitionIn, settings: Settings
) -> action_schemas.ActionOut:
    action = await action_row(principal=principal, action_id=action_id)
    if action.state == "in_progress":
        return await action_out(action)  # a phone retrying after a lost answer: already done
    await ensure_participant(principal=principal, action=action)
    ensure_state(action, {"planned"}, "start")
    case = await fetch_one(CaseRow, Case.select().where(Case.id == action.case_id))
    assert case is not None  # FK
    ensure_not_archived(case)
    missing = (await start_requirements(action)).missing
    if missing:
        raise ActionStartBlocked("the action cannot start: " + "; ".join(m["detail"] for m in missing), missing=missing)
    return await _transition(principal=principal, action=action, to_state="in_progress", stamp=data, settings=settings)


async def end_action(
    *, principal: Principal, action_id: UUID, data: action_schemas.TransitionIn, settings: Settings
) -> action_schemas.ActionOut:
    action = await action_row(principal=principal, action_id=action_id)
    if action.state == "ended":
        return await action_out(action)  # a phone retrying after a lost answer: already done
    await ensure_participant(principal=principal, action=action)
    ensure_state(action, {"in_progress"}, "end")
    return await _transition(principal=principal, action=action, to_state="ended", stamp=data, settings=settings)


async def close_action(
    *, principal: Principal, action_id: UUID, data: action_schemas.TransitionIn, settings: Settings
) -> action_schemas.ActionOut:
    _, action = await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_CLOSE)
    if action.state == "closed":
        return await action_out(action)  # a phone retrying after a lost answer: already done
    ensure_state(action, {"ended"}, "close")
    # R-CERT-5: the action records that every officer who acted (a valid check-in) showed the
    # certificate — on site, at any time before the action closes — unless the kind is exempt.
    await certificate_shown.ensure_all_shown(action=action)
    if action.requires_av:
        report = await coverage_report(principal=principal, action_id=action_id, settings=settings, store=True)
        open_gaps = [g for g in report.gaps if not g.approved]
        if open_gaps:
            # R-REC-4: every gap beyond tolerance needs an approved reason before closing.
            raise VideoCoverageIncomplete(
                f"{len(open_gaps)} gap(s) in the audio-video recording lack a supervisor-approved reason",
                gaps=msgspec.to_builtins(open_gaps),
                pending_uploads=report.pending_uploads,
            )
    return await _transition(principal=principal, action=action, to_state="closed", stamp=data, settings=settings)


# --- coercion reason (R-DISC-6) ---------------------------------------------------------


async def record_coercion_reason(
    *, principal: Principal, action_id: UUID, data: action_schemas.CoercionReasonIn
) -> action_schemas.ActionOut:
    """R-DISC-6: why non-coercive or less harmful means cannot achieve the purpose."""
    _, action = await action_for(principal=principal, action_id=action_id, rule=rules.ACTION_COERCION_REASON)
    ensure_state(action, {"planned"}, "record the coercion reason")
    async with write_transaction():
        await Action.update({Action.coercion_reason: data.reason}).where(Action.id == action_id)
        await append_case_event(
            principal=principal,
            event="action.coercion_reason",
            case_id=action.case_id,
            action_id=action_id,
            details={"reason": data.reason},
        )
    return await get_action(principal=principal, action_id=action_id)
