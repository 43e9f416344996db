"""POST: a new, empty upload owned by the caller, within its size, count and staging quotas."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from piccolo.query.functions.aggregate import Sum

from backend.core import clock, db
from backend.core.auth import Principal
from backend.core.inputs import check_declaration
from backend.core.settings import GiB, MiB, Settings
from evidence.errors import StoreUnavailableError
from evidence.hashing import content_key
from evidence.schemas import CaptureContext
from evidence.store import ObjectStore, StoreError, abort_quietly
from evidence.uploads import hashstate
from evidence.uploads.errors import OpenUploadLimit, StagingQuotaExceeded, UploadTooLarge, UserUploadQuotaExceeded
from evidence.uploads.schemas import UploadDeclaration, UploadState
from evidence.uploads.state import staging_key
from evidence.uploads.tables import Upload

log = structlog.get_logger("fieldproof.uploads")

# Per-kind ceilings under settings.tus_max_size (video gets the whole of it, 8 GiB default).
KIND_LIMITS = {"video": None, "audio": 2 * GiB, "photo": 200 * MiB, "document": 512 * MiB}


def max_size_for(kind: str, settings: Settings) -> int:
    ceiling = KIND_LIMITS.get(kind)
    return settings.tus_max_size if ceiling is None else min(ceiling, settings.tus_max_size)


async def create_upload(
    *,
    principal: Principal,
    length: int,
    declaration: UploadDeclaration,
    context: CaptureContext,
    settings: Settings,
    store: ObjectStore,
) -> UploadState:
    """POST: an empty upload owned by the caller; bytes come with PATCH (or the POST body)."""
    # Issue 15: metadata is held to the input policy before a multipart upload is opened.
    check_declaration(declaration)
    limit = max_size_for(declaration.kind, settings)
    if length > limit:
        raise UploadTooLarge(
            f"a {declaration.kind} upload may be at most {limit} bytes; Upload-Length is {length}", field="Upload-Length"
        )
    if length < 1:
        raise UploadTooLarge("Upload-Length must be at least 1 byte: an empty file is no evidence", field="Upload-Length")
    now = clock.now()
    upload_id = uuid.uuid4()
    try:
        key, multipart_id = await _open_target(upload_id, declaration=declaration, store=store)
    except StoreError as exc:
        raise StoreUnavailableError(str(exc)) from exc
    try:
        await _insert(
            principal=principal,
            upload_id=upload_id,
            length=length,
            declaration=declaration,
            context=context,
            settings=settings,
            key=key,
            multipart_id=multipart_id,
            now=now,
        )
    except BaseException:
        if multipart_id is not None:
            await abort_quietly(store, key, multipart_id)
        raise
    log.info(
        "upload.created", upload_id=str(upload_id), length=length, kind=declaration.kind, sealed_at_key=multipart_id is not None
    )
    return UploadState(
        id=upload_id, status="open", length=length, offset=0, expires_at=now + timedelta(seconds=settings.tus_expiry_s)
    )


async def _open_target(upload_id: UUID, *, declaration: UploadDeclaration, store: ObjectStore) -> tuple[str, str | None]:
    """Where the bytes go: a multipart upload at the content key, or (dedup, no resumable
    hash) the staging area, where the multipart upload is created with the first part."""
    key = content_key(declaration.sha256)
    if not hashstate.resumable() or await store.stat(key) is not None:
        return staging_key(upload_id), None
    return key, await store.create_multipart(key, content_type=declaration.filetype)


async def _reserved(where: Any) -> int:
    row = await Upload.select(Sum(Upload.length)).where(where).first()
    return int((row or {}).get("sum") or 0)


async def _check_staging_quota(live: Any, length: int, principal: Principal, settings: Settings) -> None:
    """Unfinished uploads reserve their declared length: first within the owner's own quota,
    so one phone cannot fill the staging area for everyone; then the global ceiling that
    keeps the disk from overcommitting."""
    mine = await _reserved((Upload.owner_id == principal.user_id) & live)
    if mine + length > settings.tus_user_quota:
        raise UserUploadQuotaExceeded(
            f"your unfinished uploads already reserve {mine} bytes; {length} more would exceed your quota of "
            f"{settings.tus_user_quota} bytes — finish or terminate one first",
            reserved=mine,
            limit=settings.tus_user_quota,
        )
    reserved = await _reserved(live)
    if reserved + length > settings.tus_staging_quota:
        raise StagingQuotaExceeded(
            f"unfinished uploads already reserve {reserved} bytes; {length} more would exceed the staging quota "
            f"of {settings.tus_staging_quota} bytes — retry later"
        )


async def _insert(
    *,
    principal: Principal,
    upload_id: UUID,
    length: int,
    declaration: UploadDeclaration,
    context: CaptureContext,
    settings: Settings,
    key: str,
    multipart_id: str | None,
    now: datetime,
) -> None:
    async with db.write_transaction():
        # Expired rows the sweeper has not reached yet do not count against the phone, nor do
        # uploads that received nothing within tus_idle_expiry_s (the sweeper expires them).
        idle_since = now - timedelta(seconds=settings.tus_idle_expiry_s)
        started = (Upload.offset > 0) | (Upload.created_at > idle_since)
        live = ((Upload.status == "open") & (Upload.expires_at > now) & started) | (Upload.status == "completing")
        open_count = await Upload.count().where((Upload.owner_id == principal.user_id) & live)
        if open_count >= settings.tus_max_open_per_user:
            raise OpenUploadLimit(
                f"{open_count} uploads are still open (limit {settings.tus_max_open_per_user}); finish or terminate one first"
            )
        await _check_staging_quota(live, length, principal, settings)
        initial = hashstate.new_sha256().state()
        row = Upload(
            id=upload_id,
            owner_id=principal.user_id,
            agency_id=context.agency_id,
            status="open",
            kind=declaration.kind,
            length=length,
            offset=0,
            declared_sha256=declaration.sha256,
            filename=declaration.filename,
            filetype=declaration.filetype,
            metadata=msgspec.to_builtins(declaration),
            context=msgspec.to_builtins(context),
            staging_key=key,
            multipart_id=multipart_id,
            hash_state=base64.b64encode(initial).decode("ascii") if initial else None,
            hash_offset=0,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=settings.tus_expiry_s),
        )
        await Upload.insert(row)
