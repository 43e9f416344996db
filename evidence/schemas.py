"""msgspec Structs of the evidence area (in and out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

EvidenceKind = Literal["photo", "audio", "video", "document"]
EvidenceStatus = Literal["received", "verified", "rejected"]
Sha256Hex = Annotated[str, Meta(pattern="^[0-9a-fA-F]{64}$", description="SHA-256 of the file, hex")]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
AccuracyM = Annotated[float, Meta(ge=0, le=100_000)]


class CaptureContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who may attach what, where: produced by ``backend.field.cases.authorize_capture``.

    The evidence area trusts it as already authorised; it never re-reads enforcement tables.
    """

    agency_id: UUID  # the acting agency; every evidence query is scoped to it
    case_id: UUID
    officer_id: UUID  # the uploading user
    action_id: UUID | None = None
    # Server-signed certificate status snapshot taken for the action (R-CERT), if any.
    certificate_snapshot_id: str | None = None


class CaptureDeclaration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the phone says about a capture before the server has seen the bytes (R-REC-5)."""

    sha256: Sha256Hex
    kind: EvidenceKind
    captured_at: Annotated[datetime, Meta(tz=True, description="device clock at capture, with offset")]
    device_id: Annotated[str, Meta(min_length=1, max_length=128)]
    lat: Latitude | None = None
    lon: Longitude | None = None
    accuracy_m: AccuracyM | None = None
    filename: Annotated[str, Meta(max_length=255)] | None = None
    # The device clock when it sent the upload: compared with the server clock (skew flag).
    device_sent_at: Annotated[datetime, Meta(tz=True)] | None = None


class StagedObject(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes fully received under a ``staging/`` key, with the SHA-256 the server computed."""

    key: str
    sha256: str
    size: int


class GeoPoint(msgspec.Struct, frozen=True, kw_only=True):
    lat: float
    lon: float
    accuracy_m: float | None = None
    altitude_m: float | None = None


class MediaInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the file itself says (EXIF, container tags); all optional."""

    media_captured_at: datetime | None = None  # EXIF DateTimeOriginal / container creation_time
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    has_video: bool = False
    has_audio: bool = False
    location: GeoPoint | None = None
    make: str | None = None
    model: str | None = None
    error: str | None = None  # extraction failed: the original is kept untouched regardless


class EvidenceOut(msgspec.Struct, frozen=True, kw_only=True):
    PEOPLE: ClassVar[tuple[str, ...]] = ("uploader_id",)
    id: UUID
    agency_id: UUID
    case_id: UUID
    action_id: UUID | None
    uploader_id: UUID
    certificate_snapshot_id: str | None
    kind: EvidenceKind
    status: EvidenceStatus
    sha256: str
    size: int
    media_type: str
    object_key: str
    filename: str | None
    device_id: str
    device_captured_at: datetime
    media_captured_at: datetime | None
    received_at: datetime
    # Device clock minus server clock at sending, seconds (None: the phone did not say).
    clock_skew_s: float | None
    # Device clock, media clock and server clock disagree beyond the tolerance.
    clock_skew_flagged: bool
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    media_location: GeoPoint | None
    duration_s: float | None
    has_audio: bool
    has_video: bool
    width: int | None
    height: int | None
    metadata: dict[str, Any]
    thumbnail_key: str | None
    thumbnail_sha256: str | None
    # The first record of these bytes, when this capture repeats already-stored bytes.
    duplicate_of: UUID | None

    @property
    def media_started_at(self) -> datetime:
        """Best start time for coverage: the media's own clock, else the device's."""
        return self.media_captured_at or self.device_captured_at

    uploader_name: str | None = None
    uploader_role: str | None = None


class CaptureResult(msgspec.Struct, frozen=True, kw_only=True):
    """``duplicate``: this agency already held these bytes (no second copy was written).

    ``created`` is False when the same capture (same bytes, same case and action) was
    already recorded: ``evidence`` is then that earlier record (a phone retry).
    """

    duplicate: bool
    evidence: EvidenceOut
    created: bool = True


class CaptureAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The phone's answer to an upload."""

    status: Literal["created", "duplicate"]
    evidence_id: UUID
    sha256: str
    size: int
    media_type: str
    object_key: str
    received_at: datetime
    clock_skew_flagged: bool
    # When the same capture (same bytes, same action) was already recorded, this is that record.
    existing: bool
