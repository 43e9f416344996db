"""Request and response bodies of on-site actions: planning, transitions, check-in, recording
sessions, video coverage and gap reasons (office API and phone API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.field.schemas import DeviceId, GeoPoint, LongText, OptionalLongText, ShortText, Strict
from backend.org.schemas import ActionKind as ActionKind  # one list of kinds: entrustments name them too

# R-REC-2: these three are fixed by the regulation as needing whole-process audio-video.
MANDATORY_AV_KINDS: frozenset[str] = frozenset({"seal_up", "impound", "forced_demolition"})
# R-DISC-6: coercive measures need a recorded reason why milder means do not suffice.
COERCIVE_KINDS: frozenset[str] = frozenset({"seal_up", "impound", "forced_demolition"})
ActionState = Literal["planned", "in_progress", "ended", "closed"]


# --- actions ----------------------------------------------------------------------------


class ActionIn(Strict, kw_only=True):
    id: UUID | None = None
    case_id: UUID
    kind: ActionKind
    title: Annotated[str, Meta(max_length=200)] = ""  # the column holds 200 (a longer one was a 500)
    planned_at: datetime
    planned_place: ShortText = ""
    participant_ids: Annotated[list[UUID], Meta(min_length=1, max_length=50)]
    coercion_reason: OptionalLongText = ""


class ParticipantIn(Strict, kw_only=True):
    user_id: UUID


class CoercionReasonIn(Strict, kw_only=True):
    reason: LongText


class ParticipantOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    user_id: UUID
    removed: bool
    removed_reason: str
    user_name: str | None = None
    user_role: str | None = None


class TransitionOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("by_user_id",)
    from_state: str
    to_state: str
    server_time: datetime
    device_time: datetime | None
    skew_s: float | None
    skew_flagged: bool
    location: GeoPoint | None
    by_user_id: UUID
    by_user_name: str | None = None
    by_user_role: str | None = None


class ActionOut(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    kind: str
    title: str
    planned_at: datetime
    planned_place: str
    state: str
    requires_av: bool
    coercion_reason: str
    started_at: datetime | None
    ended_at: datetime | None
    closed_at: datetime | None
    participants: list[ParticipantOut]
    transitions: list[TransitionOut]


class TransitionIn(Strict, kw_only=True):
    device_time: datetime
    location: GeoPoint | None = None


# --- check-in ---------------------------------------------------------------------------


class CheckInIn(Strict, kw_only=True):
    id: UUID
    device_id: DeviceId
    device_time: datetime
    location: GeoPoint


class CheckInOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    id: UUID
    action_id: UUID
    user_id: UUID
    allowed: bool
    reason: str
    certificate_id: UUID | None
    server_time: datetime
    device_time: datetime
    skew_s: float
    skew_flagged: bool
    location: GeoPoint
    user_name: str | None = None
    user_role: str | None = None


# --- recording sessions -----------------------------------------------------------------


class RecordingSessionIn(Strict, kw_only=True):
    id: UUID
    device_id: DeviceId
    device_time: datetime


class RecordingCloseIn(Strict, kw_only=True):
    device_time: datetime
    flag: Annotated[str, Meta(max_length=64, pattern=r"^[a-z0-9_]*$")] = ""


class RecordingSessionOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    id: UUID
    action_id: UUID
    user_id: UUID
    device_id: str
    opened_at: datetime
    closed_at: datetime | None
    flag: str
    user_name: str | None = None
    user_role: str | None = None


# --- coverage ---------------------------------------------------------------------------


class Interval(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime


class GapOut(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime
    duration_s: float
    flag: str = "av_gap"
    reason_id: UUID | None = None
    reason: str = ""
    approved: bool = False


class CoverageReportOut(msgspec.Struct, kw_only=True):
    action_id: UUID
    required: bool
    start: datetime | None
    end: datetime | None
    tolerance_s: int
    covered: list[Interval]
    gaps: list[GapOut]
    pending_segments: int
    pending_uploads: int
    complete: bool
    computed_at: datetime


class GapReasonIn(Strict, kw_only=True):
    id: UUID | None = None
    gap_start: datetime
    gap_end: datetime
    reason: LongText


class GapReasonOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("recorded_by", "approved_by")
    id: UUID
    action_id: UUID
    gap_start: datetime
    gap_end: datetime
    reason: str
    recorded_by: UUID
    approved_by: UUID | None
    approved_at: datetime | None
    recorded_by_name: str | None = None
    recorded_by_role: str | None = None
    approved_by_name: str | None = None
    approved_by_role: str | None = None
