"""PATCH: appending a body at the upload's offset, under the row's write lock.

The offset moves only after the store acknowledged the bytes (parts flushed, tail piece
written), so HEAD never reports bytes that are not durable; the whole-file SHA-256 is
carried on in the same pass and saved with the offset (R-REC-5).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterable
from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog

from backend.core import clock
from backend.core.auth import Principal
from backend.core.settings import Settings
from evidence.errors import StoreUnavailableError
from evidence.store import HEAD_BYTES, ObjectStore, StoreError, abort_quietly, is_staging
from evidence.uploads import hashstate
from evidence.uploads.errors import (
    ChecksumMismatch,
    ChunkTooLarge,
    HashStateUnavailable,
    OffsetMismatch,
    UploadFinished,
    UploadLengthExceeded,
    UploadLocked,
)
from evidence.uploads.finishing import AdmitCompletion, clean_staged, complete_upload
from evidence.uploads.locks import keep_lock, lock_owned, release_lock
from evidence.uploads.protocol import ChunkChecksum
from evidence.uploads.schemas import UploadState
from evidence.uploads.state import UploadRow, ensure_alive, head_bytes, restore_hash, returned_row, state_of
from evidence.uploads.tables import Upload
from evidence.uploads.writer import PartWriter

log = structlog.get_logger("fieldproof.uploads")


class StreamInterrupted(Exception):
    """The client went away mid-body; the bytes already received are kept (docs/PITFALLS.md)."""


class ChunkRequest(msgspec.Struct, kw_only=True):
    """One PATCH as the controller parsed it (headers already validated)."""

    upload_id: UUID
    offset: int
    content_length: int | None = None
    checksum: tuple[str, bytes] | None = None


async def append_chunk(
    *,
    principal: Principal,
    request: ChunkRequest,
    body: AsyncIterable[bytes],
    settings: Settings,
    store: ObjectStore,
    admit: AdmitCompletion | None = None,
) -> UploadState:
    """PATCH: append the body at ``offset``; complete the upload when its last byte arrives
    (after ``admit`` accepts it: a refusal rejects the upload and its staged bytes).

    Two queries on the happy path (take the lock returning the row; commit releasing it):
    the per-PATCH overhead counts when a 1 GB video arrives in 8 MiB chunks.
    """
    token, row = await lock_owned(principal=principal, upload_id=request.upload_id)
    try:
        ensure_alive(row)
        _check_offset(row, request.offset)
        if request.content_length is not None:
            _check_size(request.content_length, remaining=row.length - row.offset, settings=settings)
        if row.status == "open" and _hash_lost(row):
            row = await _restart(row=row, store=store, token=token)
            _check_offset(row, request.offset)
        if row.status != "completing":
            row = await _write_chunk(row=row, request=request, body=body, settings=settings, store=store, token=token)
        if row.status == "completing":  # just completed, or a completion that failed before is retried
            async with keep_lock(request.upload_id, token):  # sealing receives no bytes to renew it
                row = await complete_upload(row=row, store=store, hasher=restore_hash(row), settings=settings, admit=admit)
    except StoreError as exc:
        # The offset moved only for acknowledged bytes: a retryable 503, resumed from HEAD (issue 15.6).
        log.warning("upload.store_failed", upload_id=str(request.upload_id), error=str(exc))
        raise StoreUnavailableError(f"the evidence store failed ({exc}); HEAD the upload and resume") from exc
    finally:
        if row.lock_token == token:  # the commit of an unfinished upload already released it
            await release_lock(request.upload_id, token)
    return state_of(row)


def _check_offset(row: UploadRow, offset: int) -> None:
    if row.status == "completed" and offset == row.length:
        raise UploadFinished(f"upload {row.id} is complete (evidence {row.evidence_id})")
    if offset != row.offset:
        raise OffsetMismatch(f"Upload-Offset is {offset} but the upload holds {row.offset} bytes; HEAD it and resume there")


def _check_size(size: int, *, remaining: int, settings: Settings) -> None:
    if size > remaining:
        raise UploadLengthExceeded(f"the body would end {size - remaining} bytes past Upload-Length")
    if size > settings.tus_chunk_limit:
        raise ChunkTooLarge(f"one PATCH may carry at most {settings.tus_chunk_limit} bytes")


def _hash_lost(row: UploadRow) -> bool:
    """Bytes at the content key cannot be read back: without the saved SHA-256 state
    (a process that cannot resume it) they can never be verified."""
    return not is_staging(row.staging_key) and row.offset > 0 and restore_hash(row) is None


async def _restart(*, row: UploadRow, store: ObjectStore, token: str) -> UploadRow:
    """Start the upload again from byte 0 (HEAD then says 0; tus clients resume there).

    Unverifiable bytes are dropped, never sealed (R-REC-5): a fresh multipart upload and hash.
    """
    log.warning("upload.restarted", upload_id=str(row.id), offset=row.offset, reason="hash state lost")
    await clean_staged(row=row, store=store)
    try:
        multipart_id = await store.create_multipart(row.staging_key, content_type=row.filetype)
    except StoreError as exc:
        raise StoreUnavailableError(str(exc)) from exc
    initial = hashstate.new_sha256().state()
    changes: dict[Any, Any] = {
        Upload.offset: 0,
        Upload.parts: [],
        Upload.tail: [],
        Upload.multipart_id: multipart_id,
        Upload.hash_state: base64.b64encode(initial).decode("ascii") if initial else None,
        Upload.hash_offset: 0,
        Upload.head: None,
        Upload.staged_cleaned_at: None,
        Upload.updated_at: clock.now(),
    }
    fresh = await returned_row(Upload.update(changes).where((Upload.id == row.id) & (Upload.lock_token == token)))
    if fresh is None:
        await abort_quietly(store, row.staging_key, multipart_id)
        raise UploadLocked(f"upload {row.id} was taken over by another request; HEAD it and resume")
    return fresh


async def _write_chunk(
    *, row: UploadRow, request: ChunkRequest, body: AsyncIterable[bytes], settings: Settings, store: ObjectStore, token: str
) -> UploadRow:
    remaining = row.length - row.offset
    hasher = restore_hash(row)
    sealed_at_key = not is_staging(row.staging_key)
    if sealed_at_key and hasher is None:
        raise HashStateUnavailable("the upload's SHA-256 state is missing; it cannot be verified")  # _restart handles it
    head = bytearray(head_bytes(row))
    checksum = ChunkChecksum(*request.checksum) if request.checksum else None
    part_size = store.stream_part_size or settings.s3_part_size
    writer = PartWriter(row=row, store=store, part_size=part_size, token=token, hasher=hasher)
    # The per-chunk loop does only what must happen in order on the event loop; the SHA-256
    # runs in the writer's part tasks (R-REC-5: still one pass, in order, while streaming).
    limit = min(remaining, settings.tus_chunk_limit)
    if _streams(row, request.content_length, tail_size=writer.tail_size, remaining=remaining, store=store):
        assert request.content_length is not None
        await writer.stream(request.content_length)
    received, interrupted = 0, False
    try:
        async for chunk in body:
            received += len(chunk)
            if received > limit:
                _check_size(received, remaining=remaining, settings=settings)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if checksum is not None:
                checksum.update(chunk)
            await writer.feed(chunk)
    except StreamInterrupted:
        interrupted = True
    except BaseException:
        await _settle(writer)
        raise
    if checksum is not None and (interrupted or not checksum.matches()):
        await _settle(writer)  # parts sent for this chunk stay unreferenced and get overwritten
        if interrupted:
            raise StreamInterrupted(f"client left mid-chunk at {received} bytes; a checksummed chunk is all or nothing")
        raise ChecksumMismatch(f"the chunk's {checksum.algorithm} does not match Upload-Checksum; it was discarded")
    new_offset = row.offset + received
    complete = new_offset == row.length
    await writer.finish(offset_after=new_offset, complete=complete)
    return await _commit(
        row=row, writer=writer, new_offset=new_offset, complete=complete, hasher=hasher, head=bytes(head), settings=settings
    )


def _streams(row: UploadRow, size: int | None, *, tail_size: int, remaining: int, store: ObjectStore) -> bool:
    """Whether the declared body (after the tail) makes one part the store takes, so it can
    be sent while it arrives (evidence.uploads.streamed): big enough, or the last one."""
    if not size:
        return False
    if tail_size + size >= store.min_part_size:
        return True
    return size == remaining and (row.multipart_id is not None or bool(row.parts))


async def _settle(writer: PartWriter) -> None:
    with contextlib.suppress(Exception):
        await writer.wait()


async def _commit(
    *,
    row: UploadRow,
    writer: PartWriter,
    new_offset: int,
    complete: bool,
    hasher: hashstate.Sha256 | None,
    head: bytes,
    settings: Settings,
) -> UploadRow:
    state = hasher.state() if hasher is not None else None
    now = clock.now()
    changes: dict[Any, Any] = {
        Upload.offset: new_offset,
        Upload.parts: msgspec.to_builtins(writer.parts),
        Upload.tail: msgspec.to_builtins(writer.tail),
        Upload.multipart_id: writer.multipart_id,
        Upload.hash_state: base64.b64encode(state).decode("ascii") if state else None,
        Upload.hash_offset: new_offset if state else 0,
        Upload.head: base64.b64encode(head).decode("ascii"),
        Upload.updated_at: now,
        Upload.expires_at: now + timedelta(seconds=settings.tus_expiry_s),  # sliding: 24 h since last bytes
        Upload.status: "completing" if complete else "open",
    }
    if not complete:  # release with the commit; a completing upload stays locked until sealed
        changes.update({Upload.lock_token: None, Upload.lock_expires_at: None})
    mine = (Upload.id == row.id) & (Upload.lock_token == writer.token)
    fresh = await returned_row(Upload.update(changes).where(mine))
    if fresh is None:
        raise UploadLocked(f"upload {row.id} was taken over by another request; HEAD it and resume")
    for piece in writer.consumed_tail:
        with contextlib.suppress(Exception):  # unreferenced now; cleanup of the upload retries it
            await writer.store.delete_staged(piece.key)
    return fresh
