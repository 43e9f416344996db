"""The upload row, the single source of truth of an upload, and what is read from it.

Rows are read through ``backend.core.rows`` into ``UploadRow`` and passed between the
upload modules; nothing else about an upload is kept in memory between requests.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.query.methods.update import Update

from backend.core import clock
from backend.core.auth import Principal
from backend.core.rows import fetch_one, fetch_returned
from evidence.schemas import CaptureContext, EvidenceKind
from evidence.uploads import hashstate
from evidence.uploads.errors import UploadGone, UploadNotFound
from evidence.uploads.schemas import UploadDeclaration, UploadState, UploadStatus
from evidence.uploads.tables import Upload

TUS_PREFIX = "staging/tus/"
OPEN_STATUSES = ("open", "completing")


class PartRecord(msgspec.Struct, kw_only=True):
    """A part of the multipart upload as we recorded it (ListParts is not authoritative)."""

    number: int
    size: int
    etag: str


class TailPiece(msgspec.Struct, kw_only=True):
    """Bytes not yet in a full part, kept as a small object in the staging area."""

    key: str
    offset: int
    size: int


class UploadRow(msgspec.Struct, kw_only=True):
    """One ``uploads_upload`` row (see ``evidence.uploads.tables.Upload`` for the columns)."""

    id: UUID
    owner_id: UUID
    agency_id: UUID
    status: UploadStatus
    kind: EvidenceKind
    length: int
    offset: int
    declared_sha256: str
    filename: str
    filetype: str
    metadata: UploadDeclaration
    context: CaptureContext
    staging_key: str
    multipart_id: str | None
    parts: list[PartRecord]
    tail: list[TailPiece]
    hash_state: str | None
    hash_offset: int
    head: str | None
    lock_token: str | None
    lock_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    evidence_id: UUID | None
    failure: str
    staged_cleaned_at: datetime | None


# --- keys -------------------------------------------------------------------------------


def staging_key(upload_id: UUID) -> str:
    return f"{TUS_PREFIX}{upload_id}/file"


def tail_key(upload_id: UUID, offset: int) -> str:
    return f"{TUS_PREFIX}{upload_id}/tail/{offset:020d}"


def upload_id_of_key(key: str) -> UUID | None:
    if not key.startswith(TUS_PREFIX):
        return None
    try:
        return UUID(key[len(TUS_PREFIX) :].split("/", 1)[0])
    except ValueError:
        return None


# --- reading rows -----------------------------------------------------------------------


async def read_upload(upload_id: UUID) -> UploadRow | None:
    return await fetch_one(UploadRow, Upload.select().where(Upload.id == upload_id))


async def returned_row(query: Update[Any]) -> UploadRow | None:
    """The row an ``UPDATE … RETURNING`` wrote, as UploadRow: a PATCH takes its lock and reads
    its row in one query."""
    return await fetch_returned(UploadRow, query)


def state_of(row: UploadRow) -> UploadState:
    return msgspec.convert(row, UploadState, from_attributes=True)


async def owned(*, principal: Principal, upload_id: UUID) -> UploadRow:
    """Only the user who created an upload may see or touch it; anyone else gets 404."""
    row = await fetch_one(UploadRow, Upload.select().where((Upload.id == upload_id) & (Upload.owner_id == principal.user_id)))
    if row is None:
        raise UploadNotFound(f"upload {upload_id} not found")
    return row


def ensure_alive(row: UploadRow) -> None:
    if row.status in {"expired", "terminated", "rejected"}:
        reason = f" ({row.failure})" if row.failure else ""
        raise UploadGone(f"upload {row.id} is {row.status}{reason}")
    if row.status == "open" and row.expires_at <= clock.now():
        raise UploadGone(f"upload {row.id} expired at {row.expires_at.isoformat()}")


async def get_upload(*, principal: Principal, upload_id: UUID) -> UploadState:
    """HEAD: the durable offset of the caller's upload."""
    row = await owned(principal=principal, upload_id=upload_id)
    ensure_alive(row)
    return state_of(row)


def head_bytes(row: UploadRow) -> bytes:
    """The file's first bytes, kept for type sniffing before anything is sealed."""
    return base64.b64decode(row.head) if row.head else b""


def restore_hash(row: UploadRow) -> hashstate.Sha256 | None:
    """The running SHA-256, if its saved state covers exactly the durable bytes."""
    if row.hash_state is None or row.hash_offset != row.offset:
        return None
    return hashstate.resume_sha256(base64.b64decode(row.hash_state))
