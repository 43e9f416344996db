"""How an upload ends: sealed and handed to ``finalize_capture`` (completed), rejected,
or terminated by its owner; and the removal of its staged bytes in every case."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from uuid import UUID

import msgspec
import structlog

from backend.core import clock
from backend.core.auth import Principal
from backend.core.errors import ProblemError
from backend.core.rows import fetch_one
from backend.core.settings import Settings
from evidence.capture import finalize_capture
from evidence.schemas import StagedObject
from evidence.store import ObjectInfo, ObjectMissingError, ObjectStore, PendingObject, UploadedPart, is_staging
from evidence.uploads import hashstate
from evidence.uploads.errors import HashStateUnavailable, UploadFinished, UploadGone, UploadNotFound
from evidence.uploads.locks import acquire_lock, keep_lock, release_lock
from evidence.uploads.schemas import UploadDeclaration, UploadState
from evidence.uploads.state import TailPiece, UploadRow, head_bytes, owned, read_upload, restore_hash, state_of
from evidence.uploads.tables import Upload

log = structlog.get_logger("fieldproof.uploads")


class _Staged(msgspec.Struct, kw_only=True):
    """What of an upload may still lie in the store, as its row says now."""

    multipart_id: str | None
    tail: list[TailPiece]


# --- completion -------------------------------------------------------------------------

# What the caller checks once more before bytes become evidence (the field room refuses a
# device revoked since the upload was created); a refusal rejects the upload.
AdmitCompletion = Callable[[UploadDeclaration], Awaitable[None]]


async def complete_upload(
    *,
    row: UploadRow,
    store: ObjectStore,
    hasher: hashstate.Sha256 | None,
    settings: Settings,
    admit: AdmitCompletion | None = None,
) -> UploadRow:
    """All bytes durable: seal the staged object, verify the declared SHA-256, hand over."""
    if admit is not None:
        try:
            await admit(row.metadata)
        except ProblemError as exc:
            await _reject(row=row, store=store, reason=exc.slug)
            raise
    key = row.staging_key
    if not is_staging(key):
        return await _complete_at_key(row=row, store=store, hasher=hasher, settings=settings)
    size, computed = await _seal(row=row, store=store)
    if hasher is not None:
        sha256 = hasher.hexdigest()
    elif computed is not None:
        sha256 = computed
    else:
        sha256 = await _rehash(store, key)  # the hash state was lost (restart): one re-read
    # finalize_capture compares with the declared SHA-256 (R-REC-5) exactly as for a direct upload.
    try:
        staged = StagedObject(key=key, sha256=sha256, size=size)
        evidence_id = await _finalize(row=row, store=store, staged=staged, settings=settings)
    except ProblemError as exc:
        await _reject_refused(row=row, store=store, error=exc)
        raise
    return await _completed(row=row, store=store, evidence_id=evidence_id, size=size)


async def _complete_at_key(
    *, row: UploadRow, store: ObjectStore, hasher: hashstate.Sha256 | None, settings: Settings
) -> UploadRow:
    """The parts already lie at the content key: finalize_capture completes the multipart
    upload if the streamed SHA-256 equals the declared one (the key), or aborts it."""
    if hasher is None:  # only a process that cannot resume the state gets here; never seal unverified bytes
        raise HashStateUnavailable("the upload's SHA-256 state cannot be resumed by this server; retry")
    assert row.multipart_id is not None  # an upload at its content key was created with one
    pending = PendingObject(
        key=row.staging_key,
        upload_id=row.multipart_id,
        parts=tuple(UploadedPart(part_number=p.number, etag=p.etag) for p in row.parts),
        size=row.length,
        sha256=hasher.hexdigest(),
        head=head_bytes(row),
    )
    try:
        evidence_id = await _finalize(row=row, store=store, staged=pending, settings=settings)
    except ProblemError as exc:
        await _reject_refused(row=row, store=store, error=exc)
        raise
    return await _completed(row=row, store=store, evidence_id=evidence_id, size=pending.size)


async def _completed(*, row: UploadRow, store: ObjectStore, evidence_id: UUID, size: int) -> UploadRow:
    now = clock.now()
    await Upload.update(
        {Upload.status: "completed", Upload.evidence_id: evidence_id, Upload.completed_at: now, Upload.updated_at: now}
    ).where(Upload.id == row.id)
    await clean_staged(row=row, store=store)
    log.info("upload.completed", upload_id=str(row.id), evidence_id=str(evidence_id), size=size)
    fresh = await read_upload(row.id)
    assert fresh is not None
    return fresh


async def _seal(*, row: UploadRow, store: ObjectStore) -> tuple[int, str | None]:
    key = row.staging_key
    info: ObjectInfo | None = None
    if row.multipart_id:
        parts = [UploadedPart(part_number=p.number, etag=p.etag) for p in row.parts]
        with contextlib.suppress(ObjectMissingError):  # completed before a crash: the object is there
            info = await store.complete_multipart(key, row.multipart_id, parts)
    if info is None:
        info = await store.stat(key)
    if info is None:
        raise ObjectMissingError(key)
    if info.size != row.length:
        raise ObjectMissingError(f"staged {key} holds {info.size} bytes, expected {row.length}")
    return info.size, info.sha256


async def _rehash(store: ObjectStore, key: str) -> str:
    hasher = hashstate.new_sha256()
    async for block in store.read(key):
        hasher.update(block)
    return hasher.hexdigest()


async def _finalize(*, row: UploadRow, store: ObjectStore, staged: StagedObject | PendingObject, settings: Settings) -> UUID:
    result = await finalize_capture(
        store=store,
        staged=staged,
        declared=row.metadata.capture(),
        context=row.context,
        settings=settings,
        received_at=row.created_at,
    )
    return result.evidence.id


async def retry_completion(*, upload_id: UUID, store: ObjectStore, settings: Settings) -> UploadState:
    """Finish a completion that a crashed or failed request left in ``completing``."""
    token = await acquire_lock(upload_id)
    try:
        row = await read_upload(upload_id)
        if row is None:
            raise UploadNotFound(f"upload {upload_id} not found")
        if row.status == "completing":
            async with keep_lock(upload_id, token):
                row = await complete_upload(row=row, store=store, hasher=restore_hash(row), settings=settings)
    finally:
        await release_lock(upload_id, token)
    return state_of(row)


# --- rejection and termination ----------------------------------------------------------


async def _reject_refused(*, row: UploadRow, store: ObjectStore, error: ProblemError) -> None:
    """A refusal of the bytes (hash, type: 4xx) ends the upload; an outage (503, e.g. the store
    went away while sealing) does not: the upload stays ``completing`` and the same PATCH, the
    sweeper or ``reconcile --fix`` finishes it once the store is back (issue 15.6)."""
    if error.status < 500:
        await _reject(row=row, store=store, reason=error.slug)


async def _reject(*, row: UploadRow, store: ObjectStore, reason: str) -> None:
    await Upload.update({Upload.status: "rejected", Upload.failure: reason[:255], Upload.updated_at: clock.now()}).where(
        Upload.id == row.id
    )
    await clean_staged(row=row, store=store)
    log.warning("upload.rejected", upload_id=str(row.id), reason=reason)


async def terminate_upload(*, principal: Principal, upload_id: UUID, store: ObjectStore) -> None:
    """DELETE: stop an unfinished upload and remove its staged bytes."""
    row = await owned(principal=principal, upload_id=upload_id)
    if row.status == "completed":
        raise UploadFinished(f"upload {upload_id} became evidence {row.evidence_id}, which is write-once (R-REC-6)")
    if row.status in {"terminated", "expired", "rejected"}:
        raise UploadGone(f"upload {upload_id} is already {row.status}")
    token = await acquire_lock(upload_id)
    try:
        await Upload.update({Upload.status: "terminated", Upload.updated_at: clock.now()}).where(
            (Upload.id == upload_id) & (Upload.lock_token == token)
        )
        await clean_staged(row=row, store=store)
    finally:
        await release_lock(upload_id, token)
    log.info("upload.terminated", upload_id=str(upload_id))


async def clean_staged(*, row: UploadRow, store: ObjectStore) -> None:
    """Remove every staged byte of an upload; the row keeps the record of what happened."""
    fresh = await fetch_one(_Staged, Upload.select(Upload.multipart_id, Upload.tail).where(Upload.id == row.id))
    assert fresh is not None
    if fresh.multipart_id:
        await store.abort_multipart(row.staging_key, fresh.multipart_id)  # a sealed one is gone: no-op
    for piece in fresh.tail:
        await store.delete_staged(piece.key)
    if is_staging(row.staging_key):
        await store.delete_staged(row.staging_key)
    await Upload.update({Upload.staged_cleaned_at: clock.now()}).where(Upload.id == row.id)
