"""On-site actions: planning, check-in, the start gate, transitions and enforced video.

Rules: R-CERT-4/5 (check-in verifies the certificate), R-RCS-3 (declare before each
action), R-REC-2/3/4 (mandatory audio-video, recording session, coverage), R-DISC-6
(coercive measures need a reason), R-AGY-1 (only confirmed agencies act).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import unique_as, write_transaction
from backend.core.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.field import coverage, schemas
from backend.field.cases import active_officer_ids, ensure_not_archived
from backend.field.recusal import blocked_reason
from backend.field.tables import (
    Action,
    ActionParticipant,
    ActionTransition,
    Case,
    CaseOfficer,
    CheckIn,
    CoverageGapReason,
    CoverageReport,
    RecordingSession,
    RecusalDeclaration,
)
from backend.ledger.service import append_case_event
from backend.org import service as org_service
from certificates import verification as certificate_verification
from evidence import service as evidence_service
from evidence.uploads.pending import pending_for_action


class NotAssigned(Forbidden):
    slug = "not-assigned"
    title = "You are not assigned to this case or action"


class ActionStartBlocked(Conflict):
    slug = "action-start-blocked"
    title = "The action cannot start yet"


class VideoCoverageIncomplete(Conflict):
    slug = "video-coverage-incomplete"
    title = "The audio-video recording does not cover the whole action"


class CoercionReasonMissing(InvalidInput):
    slug = "coercion-reason-missing"
    title = "A coercive measure needs the reason why milder means do not suffice"


class CheckInRefused(Conflict):
    slug = "certificate-not-valid"
    title = "The certificate does not allow this check-in"


@functools.cache
def _refusal_class(reason: str) -> type[CheckInRefused]:
    """One problem type per reason code: /problems/certificate-<reason> (R-CERT-4)."""
    slug = "certificate-" + reason.replace("_", "-")
    return type(f"CheckInRefused_{reason}", (CheckInRefused,), {"slug": slug})


# --- reading ----------------------------------------------------------------------------


async def action_row(*, principal: Principal, action_id: UUID) -> dict[str, Any]:
    row = await Action.select().where((Action.id == action_id) & (Action.agency == principal.agency_id)).first()
    if row is None:
        raise NotFound(f"action {action_id} not found")
    return row


async def _case_of(action: dict[str, Any]) -> dict[str, Any]:
    case = await Case.select().where(Case.id == action["case"]).first()
    assert case is not None  # FK
    return case


async def active_participants(action_id: UUID) -> list[UUID]:
    rows = await ActionParticipant.select(ActionParticipant.user).where(
        (ActionParticipant.action == action_id) & ActionParticipant.removed_at.is_null()
    )
    return [r["user"] for r in rows]


def _geo(row: dict[str, Any]) -> schemas.GeoPoint | None:
    if row["latitude"] is None:
        return None
    return schemas.GeoPoint(latitude=row["latitude"], longitude=row["longitude"], accuracy_m=row["accuracy_m"])


def _utc(value: datetime | None) -> datetime | None:
    return clock.as_utc(value) if value is not None else None


async def action_out(row: dict[str, Any]) -> schemas.ActionOut:
    participants = (
        await ActionParticipant.select().where(ActionParticipant.action == row["id"]).order_by(ActionParticipant.added_at)
    )
    transitions = (
        await ActionTransition.select().where(ActionTransition.action == row["id"]).order_by(ActionTransition.server_time)
    )
    return schemas.ActionOut(
        id=row["id"],
        case_id=row["case"],
        kind=row["kind"],
        title=row["title"],
        planned_at=clock.as_utc(row["planned_at"]),
        planned_place=row["planned_place"],
        state=row["state"],
        requires_av=bool(row["requires_av"]),
        coercion_reason=row["coercion_reason"],
        started_at=_utc(row["started_at"]),
        ended_at=_utc(row["ended_at"]),
        closed_at=_utc(row["closed_at"]),
        participants=[
            schemas.ParticipantOut(user_id=p["user"], removed=p["removed_at"] is not None, removed_reason=p["removed_reason"])
            for p in participants
        ],
        transitions=[
            schemas.TransitionOut(
                from_state=t["from_state"],
                to_state=t["to_state"],
                server_time=clock.as_utc(t["server_time"]),
                device_time=_utc(t["device_time"]),
                skew_s=t["skew_s"],
                skew_flagged=bool(t["skew_flagged"]),
                location=_geo(t),
                by_user_id=t["by_user"],
            )
            for t in transitions
        ],
    )


async def get_action(*, principal: Principal, action_id: UUID) -> schemas.ActionOut:
    return await action_out(await action_row(principal=principal, action_id=action_id))


async def list_actions(*, principal: Principal, case_id: UUID) -> list[schemas.ActionOut]:
    rows = (
        await Action.select().where((Action.case == case_id) & (Action.agency == principal.agency_id)).order_by(Action.planned_at)
    )
    return [await action_out(r) for r in rows]


async def todays_actions(*, principal: Principal) -> list[schemas.ActionOut]:
    """The phone's `me` screen: actions the officer takes part in, planned for today (UTC+8)."""
    china = timedelta(hours=8)
    local_midnight = (clock.now() + china).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = local_midnight - china, local_midnight - china + timedelta(days=1)
    rows = await Action.select().where(
        (Action.agency == principal.agency_id)
        & (Action.planned_at >= start)
        & (Action.planned_at < end)
        & Action.id.is_in(
            ActionParticipant.select(ActionParticipant.action).where(
                (ActionParticipant.user == principal.user_id) & ActionParticipant.removed_at.is_null()
            )
        )
    )
    return [await action_out(r) for r in sorted(rows, key=lambda r: clock.as_utc(r["planned_at"]))]


# --- planning ---------------------------------------------------------------------------


async def create_action(*, principal: Principal, data: schemas.ActionIn) -> schemas.ActionOut:
    case = await Case.select().where((Case.id == data.case_id) & (Case.agency == principal.agency_id)).first()
    if case is None:
        raise NotFound(f"case {data.case_id} not found", field="case_id")
    ensure_not_archived(case)
    agency = await org_service.get_agency(agency_id=principal.agency_id)
    if agency.subject_status != "confirmed":
        raise Conflict(f"agency {agency.code} is not a confirmed enforcement subject (R-AGY-1)")
    action_id = data.id or uuid.uuid4()
    existing = await Action.select().where(Action.id == action_id).first()
    if existing is not None:
        if existing["agency"] != principal.agency_id:
            raise NotFound(f"action {action_id} not found")
        return await action_out(existing)
    await _check_participants(case_id=data.case_id, user_ids=data.participant_ids)
    now = clock.now()
    async with write_transaction():
        with unique_as(f"action {action_id} already exists", field="id"):
            await Action.insert(
                Action(
                    id=action_id,
                    case=data.case_id,
                    agency=principal.agency_id,
                    kind=data.kind,
                    title=data.title,
                    planned_at=data.planned_at,
                    planned_place=data.planned_place,
                    requires_av=data.kind in schemas.MANDATORY_AV_KINDS,
                    coercion_reason=data.coercion_reason,
                    created_by=principal.user_id,
                    created_at=now,
                )
            )
        for user_id in dict.fromkeys(data.participant_ids):
            await ActionParticipant.insert(ActionParticipant(id=uuid.uuid4(), action=action_id, user=user_id, added_at=now))
        await append_case_event(
            principal=principal,
            event="action.planned",
            case_id=data.case_id,
            action_id=action_id,
            details={"kind": data.kind, "participants": [str(u) for u in data.participant_ids]},
        )
    return await get_action(principal=principal, action_id=action_id)


async def _check_participants(*, case_id: UUID, user_ids: Sequence[UUID]) -> None:
    officers = await active_officer_ids(case_id=case_id)
    for user_id in user_ids:
        reason = await blocked_reason(case_id=case_id, user_id=user_id)
        if reason:
            # R-RCS-4: a recused person cannot be put back on the case's actions.
            raise Conflict(f"user {user_id} cannot take part: {reason}", field="participant_ids")
        if user_id not in officers:
            raise InvalidInput(f"user {user_id} is not an officer assigned to the case", field="participant_ids")


async def add_participant(*, principal: Principal, action_id: UUID, data: schemas.ParticipantIn) -> schemas.ActionOut:
    principal.require("supervisor", "admin", "officer")
    action = await action_row(principal=principal, action_id=action_id)
    _ensure_state(action, {"planned", "in_progress"}, "add a participant")
    await _check_participants(case_id=action["case"], user_ids=[data.user_id])
    if data.user_id in await active_participants(action_id):
        return await action_out(action)
    async with write_transaction():
        await ActionParticipant.insert(
            ActionParticipant(id=uuid.uuid4(), action=action_id, user=data.user_id, added_at=clock.now())
        )
        await append_case_event(
            principal=principal,
            event="action.participant_added",
            case_id=action["case"],
            action_id=action_id,
            details={"user_id": str(data.user_id)},
        )
    return await get_action(principal=principal, action_id=action_id)


async def record_coercion_reason(*, principal: Principal, action_id: UUID, data: schemas.CoercionReasonIn) -> schemas.ActionOut:
    """R-DISC-6: why non-coercive or less harmful means cannot achieve the purpose."""
    action = await action_row(principal=principal, action_id=action_id)
    _ensure_state(action, {"planned"}, "record the coercion reason")
    async with write_transaction():
        await Action.update({Action.coercion_reason: data.reason}).where(Action.id == action_id)
        await append_case_event(
            principal=principal,
            event="action.coercion_reason",
            case_id=action["case"],
            action_id=action_id,
            details={"reason": data.reason},
        )
    return await get_action(principal=principal, action_id=action_id)


def _ensure_state(action: dict[str, Any], allowed: set[str], doing: str) -> None:
    if action["state"] not in allowed:
        raise IllegalTransition(f"cannot {doing} while the action is {action['state']}", state=action["state"])


async def ensure_participant(*, principal: Principal, action: dict[str, Any]) -> None:
    """Only officers assigned to the case and on this action may act on it from the phone."""
    # One query answers the usual case (an assigned participant); only a refusal spends two
    # more to say which of the two conditions failed.
    assigned = CaseOfficer.select(CaseOfficer.user).where((CaseOfficer.case == action["case"]) & CaseOfficer.removed_at.is_null())
    if await ActionParticipant.exists().where(
        (ActionParticipant.action == action["id"])
        & (ActionParticipant.user == principal.user_id)
        & ActionParticipant.removed_at.is_null()
        & ActionParticipant.user.is_in(assigned)
    ):
        return
    if principal.user_id not in await active_officer_ids(case_id=action["case"]):
        raise NotAssigned("you are not an officer assigned to this case")
    if principal.user_id not in await active_participants(action["id"]):
        raise NotAssigned("you are not a participant of this action (or were removed by a recusal)")


# --- check-in (R-CERT-4/5) --------------------------------------------------------------


def skew(device_time: datetime, server_time: datetime, tolerance_s: int) -> tuple[float, bool]:
    """Device clock minus server clock; beyond the tolerance it is flagged, never trusted."""
    seconds = round((device_time.astimezone(UTC) - server_time).total_seconds(), 3)
    return seconds, abs(seconds) > tolerance_s


def _check_in_out(row: dict[str, Any]) -> schemas.CheckInOut:
    return schemas.CheckInOut(
        id=row["id"],
        action_id=row["action"],
        user_id=row["user"],
        allowed=bool(row["allowed"]),
        reason=row["reason"],
        certificate_id=row["certificate_id"],
        server_time=clock.as_utc(row["server_time"]),
        device_time=clock.as_utc(row["device_time"]),
        skew_s=row["skew_s"],
        skew_flagged=bool(row["skew_flagged"]),
        location=schemas.GeoPoint(latitude=row["latitude"], longitude=row["longitude"], accuracy_m=row["accuracy_m"]),
    )


def _raise_if_refused(row: dict[str, Any]) -> schemas.CheckInOut:
    out = _check_in_out(row)
    if not out.allowed:
        raise _refusal_class(out.reason)(
            f"check-in refused: certificate {out.reason.replace('_', ' ')}", reason=out.reason, check_in_id=str(out.id)
        )
    return out


# Built once: Piccolo's join columns are costly to construct on every request.
_CHECK_IN_COLUMNS = (
    *Action.all_columns(),
    Action.case.acting_agency.as_alias("case_acting_agency"),
    Action.case.domain.as_alias("case_domain"),
    Action.case.matter.as_alias("case_matter"),
)


async def _check_in_action(*, principal: Principal, action_id: UUID) -> dict[str, Any]:
    """The action (caller's agency) with what the certificate check needs from its case, in one query."""
    row = await Action.select(*_CHECK_IN_COLUMNS).where((Action.id == action_id) & (Action.agency == principal.agency_id)).first()
    if row is None:
        raise NotFound(f"action {action_id} not found")
    return row


async def check_in(
    *, principal: Principal, keys: KeyRing, settings: Settings, action_id: UUID, data: schemas.CheckInIn
) -> schemas.CheckInOut:
    """Verify the certificate for the case's acting agency and domain; store result and snapshot.

    A refusal is stored too (R-CERT-4: result and time stored), then answered as a problem.
    The client-generated id makes a retried offline check-in the same record.
    """
    action = await _check_in_action(principal=principal, action_id=action_id)
    existing = await CheckIn.select().where(CheckIn.id == data.id).first()
    if existing is not None:
        if existing["action"] != action_id or existing["user"] != principal.user_id:
            raise Conflict(f"check-in {data.id} belongs to another action or officer", field="id")
        return _raise_if_refused(existing)
    await ensure_participant(principal=principal, action=action)
    _ensure_state(action, {"planned", "in_progress"}, "check in")
    now = clock.now()
    result = await certificate_verification.verify_for_action(
        keys=keys,
        user_id=principal.user_id,
        acting_agency_id=action["case_acting_agency"],
        domain=action["case_domain"],
        matter=action["case_matter"],
        at=now,
    )
    skew_s, flagged = skew(data.device_time, now, settings.clock_skew_tolerance_s)
    async with write_transaction():
        # RETURNING hands back the row as stored (REAL columns round on PostgreSQL), so the
        # answer equals every later read without selecting it again.
        stored = await CheckIn.insert(
            CheckIn(
                id=data.id,
                action=action_id,
                user=principal.user_id,
                device_id=data.device_id,
                allowed=result.allowed,
                reason=result.reason or "",
                certificate_id=result.certificate_id,
                snapshot=msgspec.json.encode(result.snapshot).decode(),
                snapshot_token=result.snapshot_token,
                server_time=now,
                device_time=data.device_time,
                skew_s=skew_s,
                skew_flagged=flagged,
                latitude=data.location.latitude,
                longitude=data.location.longitude,
                accuracy_m=data.location.accuracy_m,
            )
        ).returning(*CheckIn.all_columns())
        # The ledger append comes last: its lock is held only from here to COMMIT.
        await append_case_event(
            principal=principal,
            event="action.check_in" if result.allowed else "action.check_in_refused",
            case_id=action["case"],
            action_id=action_id,
            subject_type="check_in",
            subject_id=data.id,
            details={"reason": result.reason, "certificate_no": result.certificate_no, "skew_s": skew_s},
        )
    return _raise_if_refused(stored[0])


async def valid_check_ins(action_id: UUID, participants: Sequence[UUID]) -> set[UUID]:
    rows = await CheckIn.select(CheckIn.user).where((CheckIn.action == action_id) & (CheckIn.allowed == True))  # noqa: E712
    return {r["user"] for r in rows} & set(participants)


# --- recording sessions (R-REC-3) -------------------------------------------------------


def _session_out(row: dict[str, Any]) -> schemas.RecordingSessionOut:
    return schemas.RecordingSessionOut(
        id=row["id"],
        action_id=row["action"],
        user_id=row["user"],
        device_id=row["device_id"],
        opened_at=clock.as_utc(row["opened_at"]),
        closed_at=_utc(row["closed_at"]),
        flag=row["flag"],
    )


async def open_recording(
    *, principal: Principal, action_id: UUID, data: schemas.RecordingSessionIn
) -> schemas.RecordingSessionOut:
    action = await action_row(principal=principal, action_id=action_id)
    existing = await RecordingSession.select().where(RecordingSession.id == data.id).first()
    if existing is not None:
        if existing["action"] != action_id or existing["user"] != principal.user_id:
            raise Conflict(f"recording session {data.id} belongs to another action or officer", field="id")
        return _session_out(existing)
    await ensure_participant(principal=principal, action=action)
    _ensure_state(action, {"planned", "in_progress"}, "open a recording session")
    async with write_transaction():
        await RecordingSession.insert(
            RecordingSession(
                id=data.id,
                action=action_id,
                user=principal.user_id,
                device_id=data.device_id,
                opened_at=clock.now(),
                opened_device_time=data.device_time,
            )
        )
        await append_case_event(
            principal=principal,
            event="recording.opened",
            case_id=action["case"],
            action_id=action_id,
            subject_type="recording_session",
            subject_id=data.id,
            details={"device_id": data.device_id},
        )
    row = await RecordingSession.select().where(RecordingSession.id == data.id).first()
    assert row is not None
    return _session_out(row)


async def close_recording(
    *, principal: Principal, action_id: UUID, session_id: UUID, data: schemas.RecordingCloseIn
) -> schemas.RecordingSessionOut:
    action = await action_row(principal=principal, action_id=action_id)
    row = (
        await RecordingSession.select()
        .where((RecordingSession.id == session_id) & (RecordingSession.action == action_id))
        .first()
    )
    if row is None or row["user"] != principal.user_id:
        raise NotFound(f"recording session {session_id} not found")
    if row["closed_at"] is None:
        async with write_transaction():
            await RecordingSession.update(
                {
                    RecordingSession.closed_at: clock.now(),
                    RecordingSession.closed_device_time: data.device_time,
                    RecordingSession.flag: data.flag,
                }
            ).where(RecordingSession.id == session_id)
            await append_case_event(
                principal=principal,
                event="recording.closed",
                case_id=action["case"],
                action_id=action_id,
                subject_type="recording_session",
                subject_id=session_id,
                details={"flag": data.flag},
            )
        row = await RecordingSession.select().where(RecordingSession.id == session_id).first()
        assert row is not None
    return _session_out(row)


async def open_sessions(action_id: UUID, participants: Sequence[UUID]) -> int:
    rows = await RecordingSession.select(RecordingSession.user).where(
        (RecordingSession.action == action_id) & RecordingSession.closed_at.is_null()
    )
    return sum(1 for r in rows if r["user"] in set(participants))


# --- the start gate ---------------------------------------------------------------------


async def start_requirements(action: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Everything still missing before the action may start, as structured items."""
    participants = await active_participants(action["id"])
    agency = await org_service.get_agency(agency_id=action["agency"])
    checked_in = await valid_check_ins(action["id"], participants)
    declared = {
        r["user"]
        for r in await RecusalDeclaration.select(RecusalDeclaration.user).where(
            (RecusalDeclaration.action == action["id"]) & (RecusalDeclaration.conflict == False)  # noqa: E712
        )
    }
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
        reason = await blocked_reason(case_id=action["case"], user_id=user_id)
        if reason:
            missing.append({"code": "recusal_blocked", "user_id": str(user_id), "detail": reason})
    sessions = await open_sessions(action["id"], participants)
    if action["requires_av"] and sessions == 0:
        # R-REC-3: the recording runs from before the start.
        missing.append({"code": "recording_session", "detail": "no open recording session from a participant's device"})
    if action["kind"] in schemas.COERCIVE_KINDS and not action["coercion_reason"].strip():
        # R-DISC-6.
        missing.append({"code": "coercion_reason", "detail": "no recorded reason why non-coercive means do not suffice"})
    facts = {
        "participants": participants,
        "checked_in": checked_in,
        "required": required,
        "declared": declared,
        "sessions": sessions,
    }
    return missing, facts


async def _transition(
    *, principal: Principal, action: dict[str, Any], to_state: str, stamp: schemas.TransitionIn, settings: Settings
) -> schemas.ActionOut:
    now = clock.now()
    skew_s, flagged = skew(stamp.device_time, now, settings.clock_skew_tolerance_s)
    column = {"in_progress": Action.started_at, "ended": Action.ended_at, "closed": Action.closed_at}[to_state]
    location = stamp.location
    async with write_transaction():
        updated = (
            await Action.update({Action.state: to_state, column: now})
            .where((Action.id == action["id"]) & (Action.state == action["state"]))
            .returning(Action.id)
        )
        if not updated:
            raise IllegalTransition("the action changed meanwhile; reload it")
        await ActionTransition.insert(
            ActionTransition(
                id=uuid.uuid4(),
                action=action["id"],
                from_state=action["state"],
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
            case_id=action["case"],
            action_id=action["id"],
            details={"from": action["state"], "device_time": stamp.device_time.isoformat(), "skew_s": skew_s},
        )
    return await get_action(principal=principal, action_id=action["id"])


async def start_action(
    *, principal: Principal, action_id: UUID, data: schemas.TransitionIn, settings: Settings
) -> schemas.ActionOut:
    action = await action_row(principal=principal, action_id=action_id)
    if action["state"] == "in_progress":
        return await action_out(action)  # a phone retrying after a lost answer: already done
    await ensure_participant(principal=principal, action=action)
    _ensure_state(action, {"planned"}, "start")
    ensure_not_archived(await _case_of(action))
    missing, _ = await start_requirements(action)
    if missing:
        raise ActionStartBlocked("the action cannot start: " + "; ".join(m["detail"] for m in missing), missing=missing)
    return await _transition(principal=principal, action=action, to_state="in_progress", stamp=data, settings=settings)


async def end_action(
    *, principal: Principal, action_id: UUID, data: schemas.TransitionIn, settings: Settings
) -> schemas.ActionOut:
    action = await action_row(principal=principal, action_id=action_id)
    if action["state"] == "ended":
        return await action_out(action)  # a phone retrying after a lost answer: already done
    await ensure_participant(principal=principal, action=action)
    _ensure_state(action, {"in_progress"}, "end")
    return await _transition(principal=principal, action=action, to_state="ended", stamp=data, settings=settings)


async def close_action(
    *, principal: Principal, action_id: UUID, data: schemas.TransitionIn, settings: Settings
) -> schemas.ActionOut:
    action = await action_row(principal=principal, action_id=action_id)
    if action["state"] == "closed":
        return await action_out(action)  # a phone retrying after a lost answer: already done
    if not principal.has("supervisor", "admin"):
        await ensure_participant(principal=principal, action=action)
    _ensure_state(action, {"ended"}, "close")
    if action["requires_av"]:
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


# --- coverage (R-REC-4) -----------------------------------------------------------------


def _segments(items: Sequence[Any]) -> tuple[list[coverage.Segment], int]:
    """Video records as segments on the server clock; records not yet verified are pending."""
    segments: list[coverage.Segment] = []
    pending = 0
    for item in items:
        if item.kind != "video" or item.status == "rejected":
            continue
        if item.status != "verified" or not item.duration_s:
            pending += 1
            continue
        # The media clock is the device's clock: shift it by the device's measured skew.
        start = item.media_started_at - timedelta(seconds=item.clock_skew_s or 0)
        segments.append(
            coverage.Segment(
                start=start, end=start + timedelta(seconds=item.duration_s), has_audio=item.has_audio, has_video=item.has_video
            )
        )
    return segments, pending


async def pending_uploads(*, action_id: UUID) -> int:
    """Resumable uploads still running for the action: pending, never counted as covered (R-REC-4)."""
    row = await Action.select(Action.agency).where(Action.id == action_id).first()
    if row is None:
        return 0
    return await pending_for_action(agency_id=row["agency"], action_id=action_id)


async def _gap_reasons(action_id: UUID) -> list[dict[str, Any]]:
    return list(
        await CoverageGapReason.select().where(CoverageGapReason.action == action_id).order_by(CoverageGapReason.recorded_at)
    )


def _gap_out(gap: coverage.Span, reasons: list[dict[str, Any]]) -> schemas.GapOut:
    covering = [r for r in reasons if coverage.gap_explained(gap, [(clock.as_utc(r["gap_start"]), clock.as_utc(r["gap_end"]))])]
    approved = [r for r in covering if r["approved_at"] is not None]
    candidates = approved or covering
    chosen = candidates[0] if candidates else None
    return schemas.GapOut(
        start=gap[0],
        end=gap[1],
        duration_s=(gap[1] - gap[0]).total_seconds(),
        reason_id=chosen["id"] if chosen else None,
        reason=chosen["reason"] if chosen else "",
        approved=bool(approved),
    )


async def coverage_report(
    *, principal: Principal, action_id: UUID, settings: Settings, store: bool = False
) -> schemas.CoverageReportOut:
    action = await action_row(principal=principal, action_id=action_id)
    items = await evidence_service.list_for_action(agency_id=action["agency"], action_id=action_id)
    segments, pending = _segments(items)
    start = _utc(action["started_at"])
    end = _utc(action["ended_at"]) or (clock.now() if start else None)
    reasons = await _gap_reasons(action_id)
    covered: list[schemas.Interval] = []
    gaps: list[schemas.GapOut] = []
    if start is not None and end is not None:
        result = coverage.video_coverage(segments=segments, start=start, end=end, tolerance_s=settings.av_gap_tolerance_s)
        covered = [schemas.Interval(start=s, end=e) for s, e in result.covered]
        gaps = [_gap_out(g, reasons) for g in result.gaps]
    report = schemas.CoverageReportOut(
        action_id=action_id,
        required=bool(action["requires_av"]),
        start=start,
        end=end,
        tolerance_s=settings.av_gap_tolerance_s,
        covered=covered,
        gaps=gaps,
        pending_segments=pending,
        pending_uploads=await pending_uploads(action_id=action_id),
        complete=start is not None and all(g.approved for g in gaps),
        computed_at=clock.now(),
    )
    if store:
        await _store_report(principal, action, report)
    return report


async def _store_report(principal: Principal, action: dict[str, Any], report: schemas.CoverageReportOut) -> None:
    async with write_transaction():
        await CoverageReport.insert(
            CoverageReport(
                id=uuid.uuid4(),
                action=action["id"],
                computed_at=report.computed_at,
                complete=report.complete,
                report=msgspec.json.encode(report).decode(),
            )
        )
        await append_case_event(
            principal=principal,
            event="coverage.report",
            case_id=action["case"],
            action_id=action["id"],
            details={"complete": report.complete, "gaps": len(report.gaps), "pending_segments": report.pending_segments},
        )


async def stored_reports(*, principal: Principal, action_id: UUID) -> list[schemas.CoverageReportOut]:
    await action_row(principal=principal, action_id=action_id)
    rows = (
        await CoverageReport.select(CoverageReport.report)
        .where(CoverageReport.action == action_id)
        .order_by(CoverageReport.computed_at)
    )
    return [msgspec.json.decode(r["report"], type=schemas.CoverageReportOut) for r in rows]


def _reason_out(row: dict[str, Any]) -> schemas.GapReasonOut:
    return schemas.GapReasonOut(
        id=row["id"],
        action_id=row["action"],
        gap_start=clock.as_utc(row["gap_start"]),
        gap_end=clock.as_utc(row["gap_end"]),
        reason=row["reason"],
        recorded_by=row["recorded_by"],
        approved_by=row["approved_by"],
        approved_at=_utc(row["approved_at"]),
    )


async def record_gap_reason(*, principal: Principal, action_id: UUID, data: schemas.GapReasonIn) -> schemas.GapReasonOut:
    action = await action_row(principal=principal, action_id=action_id)
    if not principal.has("supervisor", "admin"):
        await ensure_participant(principal=principal, action=action)
    if data.gap_end <= data.gap_start:
        raise InvalidInput("gap_end must be after gap_start", field="gap_end")
    reason_id = data.id or uuid.uuid4()
    existing = await CoverageGapReason.select().where(CoverageGapReason.id == reason_id).first()
    if existing is not None:
        if existing["action"] != action_id or existing["recorded_by"] != principal.user_id:
            raise Conflict(f"gap reason {reason_id} belongs to another action or person", field="id")
        return _reason_out(existing)
    _ensure_state(action, {"in_progress", "ended"}, "explain a recording gap")
    async with write_transaction():
        await CoverageGapReason.insert(
            CoverageGapReason(
                id=reason_id,
                action=action_id,
                gap_start=data.gap_start,
                gap_end=data.gap_end,
                reason=data.reason,
                recorded_by=principal.user_id,
                recorded_at=clock.now(),
            )
        )
        await append_case_event(
            principal=principal,
            event="coverage.gap_reason",
            case_id=action["case"],
            action_id=action_id,
            subject_type="gap_reason",
            subject_id=reason_id,
            details={"gap_start": data.gap_start.isoformat(), "gap_end": data.gap_end.isoformat(), "reason": data.reason},
        )
    row = await CoverageGapReason.select().where(CoverageGapReason.id == reason_id).first()
    assert row is not None
    return _reason_out(row)


async def approve_gap_reason(*, principal: Principal, action_id: UUID, reason_id: UUID) -> schemas.GapReasonOut:
    """R-REC-4: a supervisor (not the one who wrote the reason) approves it."""
    principal.require("supervisor")
    action = await action_row(principal=principal, action_id=action_id)
    row = (
        await CoverageGapReason.select()
        .where((CoverageGapReason.id == reason_id) & (CoverageGapReason.action == action_id))
        .first()
    )
    if row is None:
        raise NotFound(f"gap reason {reason_id} not found")
    if row["recorded_by"] == principal.user_id:
        raise Conflict("the person who recorded a gap reason cannot approve it")
    if row["approved_at"] is None:
        async with write_transaction():
            await CoverageGapReason.update(
                {CoverageGapReason.approved_by: principal.user_id, CoverageGapReason.approved_at: clock.now()}
            ).where(CoverageGapReason.id == reason_id)
            await append_case_event(
                principal=principal,
                event="coverage.gap_approved",
                case_id=action["case"],
                action_id=action_id,
                subject_type="gap_reason",
                subject_id=reason_id,
            )
        row = await CoverageGapReason.select().where(CoverageGapReason.id == reason_id).first()
        assert row is not None
    return _reason_out(row)


async def list_gap_reasons(*, principal: Principal, action_id: UUID) -> list[schemas.GapReasonOut]:
    await action_row(principal=principal, action_id=action_id)
    return [_reason_out(r) for r in await _gap_reasons(action_id)]
