"""Bodies of the officer's phone: device keys, signed capture manifests (R-REC-5) and the
checklist and `me` screens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.field.action_schemas import ActionOut, CoverageReportOut
from backend.field.schemas import Strict

# --- devices and manifests --------------------------------------------------------------


class DeviceIn(Strict, kw_only=True):
    id: UUID
    # Raw 32-byte Ed25519 public key, base64url without padding (43 characters).
    public_key: Annotated[str, Meta(min_length=43, max_length=44, pattern=r"^[A-Za-z0-9_-]{43}=?$")]
    label: Annotated[str, Meta(max_length=100)] = ""  # the device_label column is 100 wide


class DeviceOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("user_id",)
    id: UUID
    user_id: UUID
    label: str
    public_key: str
    registered_at: datetime
    revoked_at: datetime | None
    user_name: str | None = None
    user_role: str | None = None


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


# --- phone views ------------------------------------------------------------------------


class ChecklistOut(msgspec.Struct, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("checked_in_user_ids", "recusals_missing_user_ids")
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
    checked_in_user_names: list[str | None] | None = None
    checked_in_user_roles: list[str | None] | None = None
    recusals_missing_user_names: list[str | None] | None = None
    recusals_missing_user_roles: list[str | None] | None = None


class MeOut(msgspec.Struct, kw_only=True):
    user_id: UUID
    username: str
    full_name: str
    agency_id: UUID
    roles: list[str]
    certificate: dict[str, Any] | None
    todays_actions: list[ActionOut]
