"""Evidence records as the other areas read them: always scoped to the caller's agency.

Rows are read through ``backend.core.rows`` into ``EvidenceRow`` (the columns of
``evidence.tables.EvidenceItem``) and answered as ``evidence.schemas.EvidenceOut``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.core.errors import NotFound
from backend.core.rows import fetch_all, fetch_one
from evidence.schemas import CaptureContext, EvidenceKind, EvidenceOut, EvidenceStatus, GeoPoint
from evidence.tables import EvidenceItem

# The ledger's subject type for an evidence record (capture, hold and custody events).
SUBJECT = "evidence"


class EvidenceRow(msgspec.Struct, kw_only=True, rename={"agency_id": "agency", "uploader_id": "uploader"}):
    """One ``EvidenceItem`` row; the foreign keys read as ``agency_id`` / ``uploader_id``."""

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
    clock_skew_s: float | None
    clock_skew_flagged: bool
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    duration_s: float | None
    has_audio: bool
    has_video: bool
    width: int | None
    height: int | None
    metadata: dict[str, Any]
    thumbnail_key: str | None
    thumbnail_sha256: str | None
    duplicate_of: UUID | None

    @property
    def media_location(self) -> GeoPoint | None:
        """Where the file itself says it was taken (EXIF / container GPS), if it says."""
        location = self.metadata.get("location")
        return msgspec.convert(location, GeoPoint) if location else None


class _RecordId(msgspec.Struct, kw_only=True):
    id: UUID


def evidence_out(row: EvidenceRow) -> EvidenceOut:
    return msgspec.convert(row, EvidenceOut, from_attributes=True)


async def get_evidence(*, agency_id: UUID, evidence_id: UUID) -> EvidenceOut:
    """One record of the caller's agency; another agency's record is NotFound."""
    row = await fetch_one(
        EvidenceRow, EvidenceItem.select().where((EvidenceItem.id == evidence_id) & (EvidenceItem.agency == agency_id))
    )
    if row is None:
        raise NotFound("no such evidence")
    return evidence_out(row)


async def list_for_action(*, agency_id: UUID, action_id: UUID) -> list[EvidenceOut]:
    """Records attached to an action, oldest media first (video coverage, R-REC-4).

    Each carries ``media_started_at`` (media clock, else device clock), ``duration_s``,
    ``has_audio``, ``has_video`` and ``status``.
    """
    rows = await fetch_all(
        EvidenceRow,
        EvidenceItem.select()
        .where((EvidenceItem.agency == agency_id) & (EvidenceItem.action_id == action_id))
        .order_by(EvidenceItem.device_captured_at),
    )
    return sorted((evidence_out(r) for r in rows), key=lambda e: (e.media_started_at, str(e.id)))


async def list_for_case(*, agency_id: UUID, case_id: UUID) -> list[EvidenceOut]:
    rows = await fetch_all(
        EvidenceRow,
        EvidenceItem.select()
        .where((EvidenceItem.agency == agency_id) & (EvidenceItem.case_id == case_id))
        .order_by(EvidenceItem.received_at),
    )
    return [evidence_out(r) for r in rows]


async def first_record_of(*, agency_id: UUID, sha256: str) -> UUID | None:
    """The agency's earliest record of these bytes (what a repeated capture duplicates)."""
    first = await fetch_one(
        _RecordId,
        EvidenceItem.select(EvidenceItem.id)
        .where((EvidenceItem.agency == agency_id) & (EvidenceItem.sha256 == sha256))
        .order_by(EvidenceItem.received_at),
    )
    return first.id if first else None


async def same_capture(*, context: CaptureContext, sha256: str) -> EvidenceOut | None:
    """The record of these bytes for the same case and action, if a phone sent them before."""
    query = EvidenceItem.select().where(
        (EvidenceItem.agency == context.agency_id) & (EvidenceItem.case_id == context.case_id) & (EvidenceItem.sha256 == sha256)
    )
    query = query.where(
        EvidenceItem.action_id.is_null() if context.action_id is None else EvidenceItem.action_id == context.action_id
    )
    row = await fetch_one(EvidenceRow, query)
    return evidence_out(row) if row else None
