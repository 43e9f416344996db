"""Recording sessions (R-REC-3): a participant's device records from before a mandatory-AV start.

The start gate in ``transitions.py`` counts the open sessions; the recordings themselves
arrive as evidence and are measured against the action in ``gaps.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from piccolo.custom_types import Combinable

from backend.core import clock
from backend.core.auth import Principal
from backend.core.db import write_transaction
from backend.core.errors import Conflict, NotFound
from backend.core.rows import fetch_one
from backend.field import action_schemas
from backend.field.actions import action_row, ensure_participant, ensure_state
from backend.field.tables import RecordingSession
from backend.ledger.service import append_case_event

# Built once: the response body read straight from the row (aliases are deep copies).
_SESSION_COLUMNS = (
    RecordingSession.id,
    RecordingSession.action.as_alias("action_id"),
    RecordingSession.user.as_alias("user_id"),
    RecordingSession.device_id,
    RecordingSession.opened_at,
    RecordingSession.closed_at,
    RecordingSession.flag,
)


async def _session(where: Combinable) -> action_schemas.RecordingSessionOut | None:
    return await fetch_one(action_schemas.RecordingSessionOut, RecordingSession.select(*_SESSION_COLUMNS).where(where))


async def open_recording(
    *, principal: Principal, action_id: UUID, data: action_schemas.RecordingSessionIn
) -> action_schemas.RecordingSessionOut:
    action = await action_row(principal=principal, action_id=action_id)
    existing = await _session(RecordingSession.id == data.id)
    if existing is not None:
        if existing.action_id != action_id or existing.user_id != principal.user_id:
            raise Conflict(f"recording session {data.id} belongs to another action or officer", field="id")
        return existing
    await ensure_participant(principal=principal, action=action)
    ensure_state(action, {"planned", "in_progress"}, "open a recording session")
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
            case_id=action.case_id,
            action_id=action_id,
            subject_type="recording_session",
            subject_id=data.id,
            details={"device_id": data.device_id},
        )
    opened = await _session(RecordingSession.id == data.id)
    assert opened is not None
    return opened


async def close_recording(
    *, principal: Principal, action_id: UUID, session_id: UUID, data: action_schemas.RecordingCloseIn
) -> action_schemas.RecordingSessionOut:
    action = await action_row(principal=principal, action_id=action_id)
    session = await _session((RecordingSession.id == session_id) & (RecordingSession.action == action_id))
    if session is None or session.user_id != principal.user_id:
        raise NotFound(f"recording session {session_id} not found")
    if session.closed_at is None:
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
                case_id=action.case_id,
                action_id=action_id,
                subject_type="recording_session",
                subject_id=session_id,
                details={"flag": data.flag},
            )
        session = await _session(RecordingSession.id == session_id)
        assert session is not None
    return session


async def open_sessions(action_id: UUID, participants: Sequence[UUID]) -> int:
    users = await (
        RecordingSession.select(RecordingSession.user)
        .where((RecordingSession.action == action_id) & RecordingSession.closed_at.is_null())
        .output(as_list=True)
    )
    return sum(1 for user in users if user in set(participants))
