"""What a phone declares when it creates a tus upload, and what the server answers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from evidence.schemas import AccuracyM, CaptureDeclaration, EvidenceKind, Latitude, Longitude
from evidence.uploads.errors import InvalidUploadMetadata

UploadStatus = Literal["open", "completing", "completed", "rejected", "terminated", "expired"]
Sha256Hex = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{64}$")]
MimeType = Annotated[str, Meta(min_length=3, max_length=127, pattern=r"^[a-zA-Z0-9][\w.+-]*/[\w.+-]+$")]


class UploadDeclaration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Upload-Metadata decoded (R-REC-5: the device's SHA-256 is declared before upload).

    Keys a stock tus client adds on its own are ignored by ``declaration_from_metadata``,
    so TUSKit / tus-js-client extras never break an upload; these are the ones we use.
    """

    filename: Annotated[str, Meta(min_length=1, max_length=255)]
    filetype: MimeType
    sha256: Sha256Hex
    case_id: UUID
    action_id: UUID | None = None
    captured_at: datetime
    device_id: Annotated[str, Meta(min_length=1, max_length=128)]
    # Same names as the direct upload's declaration (evidence.schemas.CaptureDeclaration).
    lat: Latitude | None = None
    lon: Longitude | None = None
    accuracy_m: AccuracyM | None = None

    def capture(self) -> CaptureDeclaration:
        return CaptureDeclaration(
            sha256=self.sha256,
            kind=self.kind,
            captured_at=self.captured_at,
            device_id=self.device_id,
            lat=self.lat,
            lon=self.lon,
            accuracy_m=self.accuracy_m,
            filename=self.filename,
        )

    @property
    def kind(self) -> EvidenceKind:
        major = self.filetype.split("/", 1)[0].lower()
        if major == "video":
            return "video"
        if major == "audio":
            return "audio"
        if major == "image":
            return "photo"
        return "document"


DECLARED_KEYS = frozenset(f.name for f in msgspec.structs.fields(UploadDeclaration))
_AT_FIELD = re.compile(r"`\$\.(\w+)`")


def declaration_from_metadata(pairs: dict[str, bytes]) -> UploadDeclaration:
    """Typed declaration from decoded Upload-Metadata; a bad or missing key names itself."""
    values: dict[str, str] = {}
    for key, raw in pairs.items():
        if key not in DECLARED_KEYS or not raw:
            continue  # an empty value is an absent one
        try:
            values[key] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidUploadMetadata(f"Upload-Metadata {key!r} is not UTF-8", field=key) from None
    try:
        declaration = msgspec.convert(values, UploadDeclaration, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT_FIELD.search(message)
        field = match.group(1) if match else None
        if field is None and "missing required field" in message:
            field = message.split("`")[1] if "`" in message else None
        raise InvalidUploadMetadata(f"Upload-Metadata: {message}", field=field) from None
    if declaration.captured_at.tzinfo is None:
        raise InvalidUploadMetadata("captured_at needs a time zone offset (e.g. +08:00)", field="captured_at")
    if (declaration.lat is None) != (declaration.lon is None):
        raise InvalidUploadMetadata("lat and lon come together", field="lat" if declaration.lat is None else "lon")
    return msgspec.structs.replace(declaration, sha256=declaration.sha256.lower())


class UploadState(msgspec.Struct, kw_only=True):
    """The server's view of one upload (HEAD, PATCH and POST answers are built from it)."""

    id: UUID
    status: UploadStatus
    length: int
    offset: int
    expires_at: datetime
    evidence_id: UUID | None = None
    lock_expires_at: datetime | None = None  # a write lock's lease (HEAD: Upload-Lock-Expires)


class SweepReport(msgspec.Struct, kw_only=True):
    expired: int = 0
    cleaned: int = 0
    orphans_aborted: int = 0
    completed: int = 0  # completions a crashed process left half-done, finished now
    errors: list[str] = msgspec.field(default_factory=list)
