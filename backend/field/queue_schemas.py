"""Bodies of the field work queues (issue 14, point 5): what a supervisor must act on.

Every item carries what one needs to act without another lookup: the ids to act on, the
case's reference and title, who (with name and role, ``backend.org.names``) and since when.
A queue answers one page: ``items`` oldest first, ``total`` over the whole queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.field.action_schemas import ParticipantOut

QueueLimit = Annotated[int, Meta(ge=1, le=200)]
QueueOffset = Annotated[int, Meta(ge=0)]


class Paging(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a queue in a stable order (oldest first, then id)."""

    limit: QueueLimit = 50
    offset: QueueOffset = 0


class CaseHeading(msgspec.Struct, frozen=True, kw_only=True):
    """How a case is named to a person: its reference (案号) and title."""

    case_id: UUID
    case_reference: str
    case_title: str


class GapReasonItem(msgspec.Struct, kw_only=True):
    """A recorded reason for a recording gap that waits for a supervisor's approval (R-REC-4)."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("recorded_by",)
    reason_id: UUID
    action_id: UUID
    action_kind: str
    action_title: str
    action_state: str
    case_id: UUID
    case_reference: str
    case_title: str
    gap_start: datetime
    gap_end: datetime
    duration_s: float
    reason: str
    recorded_by: UUID
    since: datetime  # when the reason was recorded
    recorded_by_name: str | None = None
    recorded_by_role: str | None = None


class GapReasonQueue(msgspec.Struct, kw_only=True):
    items: list[GapReasonItem]
    total: int
    limit: int
    offset: int


class RecusalRequestItem(msgspec.Struct, kw_only=True):
    """A recusal request that waits for the responsible person's decision (R-RCS-4)."""

    PEOPLE: ClassVar[tuple[str, ...]] = ("target_user_id", "recorded_by")
    request_id: UUID
    case_id: UUID
    case_reference: str
    case_title: str
    target_user_id: UUID
    ground: str
    reasons: str
    raised_by_kind: str
    raised_by_name: str  # the party or person who raised it (not a user of the system)
    recorded_by: UUID
    since: datetime
    target_user_name: str | None = None
    target_user_role: str | None = None
    recorded_by_name: str | None = None
    recorded_by_role: str | None = None


class RecusalRequestQueue(msgspec.Struct, kw_only=True):
    items: list[RecusalRequestItem]
    total: int
    limit: int
    offset: int


class CoverageItem(msgspec.Struct, kw_only=True):
    """An ended action that must be recorded end to end and whose coverage is not complete
    (R-REC-2/4): it cannot close until every gap has an approved reason."""

    action_id: UUID
    action_kind: str
    action_title: str
    action_state: str
    case_id: UUID
    case_reference: str
    case_title: str
    started_at: datetime | None
    since: datetime  # when the action ended
    gaps: int
    gaps_without_reason: int
    reasons_to_approve: int
    pending_segments: int
    pending_uploads: int
    participants: list[ParticipantOut]


class CoverageQueue(msgspec.Struct, kw_only=True):
    items: list[CoverageItem]
    total: int
    limit: int
    offset: int
