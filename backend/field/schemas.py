"""Request and response bodies of the field workflow (office API and phone API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

CaseKind = Literal["penalty", "coercion", "inspection", "licensing", "levy", "confirmation"]
Stage = Literal["initiation", "investigation", "review_decision", "service_execution", "archived"]
STAGES: tuple[Stage, ...] = ("initiation", "investigation", "review_decision", "service_execution", "archived")
ActionKind = Literal["inspection", "investigation", "seal_up", "impound", "forced_demolition", "service", "other"]
# R-REC-2: these three are fixed by the regulation as needing whole-process audio-video.
MANDATORY_AV_KINDS: frozenset[str] = frozenset({"seal_up", "impound", "forced_demolition"})
# R-DISC-6: coercive measures need a recorded reason why milder means do not suffice.
COERCIVE_KINDS: frozenset[str] = frozenset({"seal_up", "impound", "forced_demolition"})
ActionState = Literal["planned", "in_progress", "ended", "closed"]
OfficerRole = Literal["lead", "assisting"]
CaseFunction = Literal["filing", "investigation", "hearing", "decision"]
# R-RCS-1: the three grounds.
RecusalGround = Literal["direct_interest", "close_relative", "other_relationship"]

Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(max_length=255)]
LongText = Annotated[str, Meta(min_length=1, max_length=4000)]
OptionalLongText = Annotated[str, Meta(max_length=4000)]
DeviceId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
# Resident identity numbers (18), passports, unified social credit codes (18).
IdNumber = Annotated[str, Meta(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class GeoPoint(Strict, kw_only=True):
    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)]


# --- cases ------------------------------------------------------------------------------


class PartyIn(Strict, kw_only=True):
    kind: Literal["person", "organisation"]
    name: Title
    id_number: IdNumber | None = None


class OfficerAssignmentIn(Strict, kw_only=True):
    user_id: UUID
    role: OfficerRole
    function: CaseFunction = "investigation"


class CaseIn(Strict, kw_only=True):
    id: UUID | None = None
    kind: CaseKind
    title: Title
    matter: Code
    domain: Code
    legal_basis: LongText
    party: PartyIn
    location: ShortText = ""
    officers: Annotated[list[OfficerAssignmentIn], Meta(min_length=1, max_length=50)]


class CaseOfficerOut(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    role: str
    function: str
    removed: bool
    removed_reason: str
    assigned_at: datetime


class CaseOut(msgspec.Struct, kw_only=True):
    id: UUID
    reference: str
    agency_id: UUID
    acting_agency_id: UUID
    entrustment_id: UUID | None
    kind: str
    title: str
    matter: str
    domain: str
    legal_basis: str
    party_kind: str
    party_name: str
    party_id_masked: str
    location: str
    stage: str
    stage_entered_at: datetime
    archived_at: datetime | None
    created_at: datetime
    officers: list[CaseOfficerOut]
    separation_warnings: list[str] = []


class StageAdvanceIn(Strict, kw_only=True):
    to_stage: Stage


class CaseRecordIn(Strict, kw_only=True):
    id: UUID | None = None
    kind: Literal["document", "capture"] = "document"
    title: Title
    evidence_id: UUID | None = None


class CaseRecordOut(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    stage: str
    kind: str
    title: str
    evidence_id: UUID | None
    created_at: datetime


# --- actions ----------------------------------------------------------------------------


class ActionIn(Strict, kw_only=True):
    id: UUID | None = None
    case_id: UUID
    kind: ActionKind
    title: ShortText = ""
    planned_at: datetime
    planned_place: ShortText = ""
    participant_ids: Annotated[list[UUID], Meta(min_length=1, max_length=50)]
    coercion_reason: OptionalLongText = ""


class ParticipantIn(Strict, kw_only=True):
    user_id: UUID


class CoercionReasonIn(Strict, kw_only=True):
    reason: LongText


class ParticipantOut(msgspec.Struct, kw_only=True):
    user_id: UUID
    removed: bool
    removed_reason: str


class TransitionOut(msgspec.Struct, kw_only=True):
    from_state: str
    to_state: str
    server_time: datetime
    device_time: datetime | None
    skew_s: float | None
    skew_flagged: bool
    location: GeoPoint | None
    by_user_id: UUID


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


# --- check-in and recusal ---------------------------------------------------------------


class CheckInIn(Strict, kw_only=True):
    id: UUID
    device_id: DeviceId
    device_time: datetime
    location: GeoPoint


class CheckInOut(msgspec.Struct, kw_only=True):
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


class RecusalIn(Strict, kw_only=True):
    id: UUID
    conflict: bool
    ground: RecusalGround | None = None
    statement: OptionalLongText = ""
    device_time: datetime | None = None


class RecusalOut(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    action_id: UUID | None
    user_id: UUID
    conflict: bool
    ground: str
    statement: str
    server_time: datetime
    device_time: datetime | None


class RecusalRequestIn(Strict, kw_only=True):
    id: UUID | None = None
    target_user_id: UUID
    raised_by_kind: Literal["party", "officer", "other"]
    raised_by_name: Title
    ground: RecusalGround
    reasons: LongText


class RecusalDecisionIn(Strict, kw_only=True):
    upheld: bool
    reasons: LongText


class RecusalRequestOut(msgspec.Struct, kw_only=True):
    id: UUID
    case_id: UUID
    target_user_id: UUID
    raised_by_kind: str
    raised_by_name: str
    ground: str
    reasons: str
    status: str
    decided_by: UUID | None
    decision_reasons: str
    decided_at: datetime | None
    created_at: datetime


# --- recording sessions, devices, manifests ---------------------------------------------


class RecordingSessionIn(Strict, kw_only=True):
    id: UUID
    device_id: DeviceId
    device_time: datetime


class RecordingCloseIn(Strict, kw_only=True):
    device_time: datetime
    flag: Annotated[str, Meta(max_length=64, pattern=r"^[a-z0-9_]*$")] = ""


class RecordingSessionOut(msgspec.Struct, kw_only=True):
    id: UUID
    action_id: UUID
    user_id: UUID
    device_id: str
    opened_at: datetime
    closed_at: datetime | None
    flag: str


class DeviceIn(Strict, kw_only=True):
    id: UUID
    # Raw 32-byte Ed25519 public key, base64url without padding (43 characters).
    public_key: Annotated[str, Meta(min_length=43, max_length=44, pattern=r"^[A-Za-z0-9_-]{43}=?$")]
    label: Annotated[str, Meta(max_length=100)] = ""  # the device_label column is 100 wide


class DeviceOut(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    label: str
    public_key: str
    registered_at: datetime
    revoked_at: datetime | None


class ManifestEntryIn(Strict, kw_only=True):
    file_name: Annotated[str, Meta(min_length=1, max_length=255)]
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Meta(ge=0, le=1 << 40)]
    media_type: Annotated[str, Meta(max_length=100)] = ""
    captured_at: datetime


class ManifestPayload(Strict, kw_only=True):
    """What the device signs: the exact UTF-8 bytes of ``ManifestIn.payload``."""

    id: UUID
    action_id: UUID
    device_id: UUID
    device_time: datetime
    entries: Annotated[list[ManifestEntryIn], Meta(min_length=1, max_length=2000)]


class ManifestIn(Strict, kw_only=True):
    # Signing the transmitted bytes avoids any canonical-JSON dispute between phone and server.
    payload: Annotated[str, Meta(min_length=2, max_length=512 * 1024)]
    signature: Annotated[str, Meta(min_length=86, max_length=88, pattern=r"^[A-Za-z0-9_-]{86}(==)?$")]


class ManifestEntryStatus(msgspec.Struct, kw_only=True):
    file_name: str
    sha256: str
    size: int
    captured_at: datetime
    status: Literal["matched", "missing", "size_mismatch"]
    evidence_id: UUID | None = None


class ManifestOut(msgspec.Struct, kw_only=True):
    id: UUID
    action_id: UUID
    device_id: UUID
    server_time: datetime
    device_time: datetime
    skew_s: float
    skew_flagged: bool
    entries: list[ManifestEntryStatus]


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
    id: UUID
    action_id: UUID
    gap_start: datetime
    gap_end: datetime
    reason: str
    recorded_by: UUID
    approved_by: UUID | None
    approved_at: datetime | None


# --- phone views ------------------------------------------------------------------------


class ChecklistOut(msgspec.Struct, kw_only=True):
    action: ActionOut
    case_reference: str
    ready_to_start: bool
    ready_to_close: bool
    missing: list[str]
    valid_check_ins: int
    required_check_ins: int
    checked_in_user_ids: list[UUID]
    recusals_missing_user_ids: list[UUID]
    open_recording_sessions: int
    coverage: CoverageReportOut | None
    pending_uploads: int
    manifest_flags: list[str]


class MeOut(msgspec.Struct, kw_only=True):
    user_id: UUID
    username: str
    full_name: str
    agency_id: UUID
    roles: list[str]
    certificate: dict[str, Any] | None
    todays_actions: list[ActionOut]
