"""Resumable (tus) uploads: every rule of the area, keyword-only and storage-backed.

The bytes go once, as they arrive, into a multipart upload created at upload creation
directly at the final content key (``sha256/<declared hex>``; parts are invisible until
completion): full parts (``s3_part_size``, at least the store's minimum part size), and a
not-yet-full tail as small "tail piece" objects in the staging area, so any API process can
continue an upload after a restart. Completion seals the object only when the SHA-256
computed while streaming equals the declared one; otherwise the multipart upload is aborted
and nothing ever became visible (R-REC-5, R-REC-6). When the content key already exists
(dedup) or the hash state cannot be saved, the upload is staged under ``staging/`` instead. The database row is the only truth
(offset, parts, tail pieces, SHA-256 state, the write lock): the offset moves only after
the store acknowledged the bytes, so HEAD never reports bytes that are not durable.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from piccolo.query.functions.aggregate import Sum

from backend.core import clock, db
from backend.core.auth import Principal
from backend.core.errors import ProblemError
from backend.core.settings import GiB, MiB, Settings
from evidence import service as evidence_service
from evidence.hashing import content_key
from evidence.schemas import CaptureContext, StagedObject
from evidence.store import (
    HEAD_BYTES,
    ObjectInfo,
    ObjectMissingError,
    ObjectStore,
    PendingObject,
    StoreError,
    UploadedPart,
    abort_quietly,
    is_staging,
)
from evidence.uploads import hashstate
from evidence.uploads.errors import (
    ChecksumMismatch,
    ChunkTooLarge,
    HashStateUnavailable,
    OffsetMismatch,
    OpenUploadLimit,
    StagingQuotaExceeded,
    UploadFinished,
    UploadGone,
    UploadLengthExceeded,
    UploadLocked,
    UploadNotFound,
    UploadTooLarge,
)
from evidence.uploads.protocol import ChunkChecksum
from evidence.uploads.schemas import UploadDeclaration, UploadState
from evidence.uploads.tables import Upload

log = structlog.get_logger("fieldproof.uploads")

TUS_PREFIX = "staging/tus/"
# A PATCH holds the row lock for this long unless it renews it (it does, while bytes flow);
# a crashed process's lock lapses after it.
LOCK_LEASE_S = 120
# Per-kind ceilings under settings.tus_max_size (video gets the whole of it, 8 GiB default).
KIND_LIMITS = {"video": None, "audio": 2 * GiB, "photo": 200 * MiB, "document": 512 * MiB}
OPEN_STATUSES = ("open", "completing")


class StreamInterrupted(Exception):
    """The client went away mid-body; the bytes already received are kept (NOTES: tus)."""


# --- keys and rows ----------------------------------------------------------------------


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


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def _state(row: dict[str, Any]) -> UploadState:
    return UploadState(
        id=row["id"],
        status=row["status"],
        length=row["length"],
        offset=row["offset"],
        expires_at=clock.as_utc(row["expires_at"]),
        evidence_id=row["evidence_id"],
    )


def max_size_for(kind: str, settings: Settings) -> int:
    ceiling = KIND_LIMITS.get(kind)
    return settings.tus_max_size if ceiling is None else min(ceiling, settings.tus_max_size)


async def _owned(*, principal: Principal, upload_id: UUID) -> dict[str, Any]:
    """Only the user who created an upload may see or touch it; anyone else gets 404."""
    row = await Upload.select().where((Upload.id == upload_id) & (Upload.owner_id == principal.user_id)).first()
    if row is None:
        raise UploadNotFound(f"upload {upload_id} not found")
    return row


def _ensure_alive(row: dict[str, Any]) -> None:
    if row["status"] in {"expired", "terminated", "rejected"}:
        reason = f" ({row['failure']})" if row["failure"] else ""
        raise UploadGone(f"upload {row['id']} is {row['status']}{reason}")
    if row["status"] == "open" and clock.as_utc(row["expires_at"]) <= clock.now():
        raise UploadGone(f"upload {row['id']} expired at {clock.as_utc(row['expires_at']).isoformat()}")


# --- creation ---------------------------------------------------------------------------


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
        raise evidence_service.StoreUnavailableError(str(exc)) from exc
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


async def _check_staging_quota(live: Any, length: int, settings: Settings) -> None:
    """Unfinished uploads reserve their declared length; the staging area never overcommits."""
    row = await Upload.select(Sum(Upload.length)).where(live).first()
    reserved = int((row or {}).get("sum") or 0)
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
        # Expired rows the sweeper has not reached yet do not count against the phone.
        live = ((Upload.status == "open") & (Upload.expires_at > now)) | (Upload.status == "completing")
        open_count = await Upload.count().where((Upload.owner_id == principal.user_id) & live)
        if open_count >= settings.tus_max_open_per_user:
            raise OpenUploadLimit(
                f"{open_count} uploads are still open (limit {settings.tus_max_open_per_user}); finish or terminate one first"
            )
        await _check_staging_quota(live, length, settings)
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


async def get_upload(*, principal: Principal, upload_id: UUID) -> UploadState:
    """HEAD: the durable offset of the caller's upload."""
    row = await _owned(principal=principal, upload_id=upload_id)
    _ensure_alive(row)
    return _state(row)


# --- the row lock (lives in the database: any number of API processes) --------------------


def _lock_free(now: datetime) -> Any:
    return Upload.lock_token.is_null() | (Upload.lock_expires_at < now)


async def _acquire_lock(upload_id: UUID) -> str:
    token = secrets.token_hex(16)
    now = clock.now()
    taken = (
        await Upload.update({Upload.lock_token: token, Upload.lock_expires_at: now + timedelta(seconds=LOCK_LEASE_S)})
        .where((Upload.id == upload_id) & _lock_free(now))
        .returning(Upload.id)
    )
    if not taken:
        raise UploadLocked(f"another request is writing to upload {upload_id}; retry after it ends")
    return token


async def _lock_owned(*, principal: Principal, upload_id: UUID) -> tuple[str, dict[str, Any]]:
    """Take the write lock of the caller's upload and return the row as locked (one query)."""
    token = secrets.token_hex(16)
    now = clock.now()
    rows = (
        await Upload.update({Upload.lock_token: token, Upload.lock_expires_at: now + timedelta(seconds=LOCK_LEASE_S)})
        .where((Upload.id == upload_id) & (Upload.owner_id == principal.user_id) & _lock_free(now))
        .returning(*Upload.all_columns())
    )
    if rows:
        return token, rows[0]
    row = await _owned(principal=principal, upload_id=upload_id)  # 404 for others
    _ensure_alive(row)
    raise UploadLocked(f"another request is writing to upload {upload_id}; retry after it ends")


async def _renew_lock(upload_id: UUID, token: str) -> None:
    await Upload.update({Upload.lock_expires_at: clock.now() + timedelta(seconds=LOCK_LEASE_S)}).where(
        (Upload.id == upload_id) & (Upload.lock_token == token)
    )


async def _release_lock(upload_id: UUID, token: str) -> None:
    await Upload.update({Upload.lock_token: None, Upload.lock_expires_at: None}).where(
        (Upload.id == upload_id) & (Upload.lock_token == token)
    )


# --- appending bytes --------------------------------------------------------------------


class _PartWriter:
    """Cuts the streamed body into parts of exactly ``part_size`` bytes, uploading each while
    the next one is received (one in flight); what is left becomes a tail piece."""

    def __init__(self, *, row: dict[str, Any], store: ObjectStore, part_size: int, token: str) -> None:
        self.row = row
        self.store = store
        self.part_size = part_size
        self.token = token
        self.key: str = row["staging_key"]
        self.multipart_id: str | None = row["multipart_id"]
        self.parts: list[dict[str, Any]] = list(_json(row["parts"]))
        self._parts_before = len(self.parts)
        self.tail: list[dict[str, Any]] = list(_json(row["tail"]))
        self.tail_size = sum(int(p["size"]) for p in self.tail)
        self.consumed_tail: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self._inflight: asyncio.Task[None] | None = None
        self._renewed = clock.now()

    @property
    def durable_parts_size(self) -> int:
        return sum(int(p["size"]) for p in self.parts)

    async def feed(self) -> None:
        """Upload every full part the tail and buffer now hold."""
        while self.tail_size + len(self.buffer) >= self.part_size:
            size = self.part_size - self.tail_size  # what the buffer adds to the tail to fill a part
            head = await self._drain_tail()
            await self._send_part(self._take(size, head=head))
        if (clock.now() - self._renewed).total_seconds() > LOCK_LEASE_S / 3:
            self._renewed = clock.now()
            await _renew_lock(self.row["id"], self.token)

    def _take(self, size: int, *, head: bytes = b"") -> bytes | bytearray:
        if head:
            with memoryview(self.buffer) as view:
                payload: bytes | bytearray = head + view[:size]
            del self.buffer[:size]
            return payload
        # Hand the buffer itself over; only the (short) overflow is copied.
        payload, self.buffer = self.buffer, bytearray(memoryview(self.buffer)[size:])
        del payload[size:]
        return payload

    async def _drain_tail(self) -> bytes:
        """The tail pieces' bytes (< one part), read back once to join the next part."""
        if not self.tail:
            return b""
        blocks = [block for piece in self.tail async for block in self.store.read(piece["key"])]
        self.consumed_tail.extend(self.tail)
        self.tail, self.tail_size = [], 0
        return b"".join(blocks)

    async def _send_part(self, payload: bytes | bytearray) -> None:
        await self.wait()
        if self.multipart_id is None:
            self.multipart_id = await self.store.create_multipart(self.key, content_type=self.row["filetype"])
            # Persist at once: the sweeper aborts multipart uploads no row owns.
            await Upload.update({Upload.multipart_id: self.multipart_id}).where(
                (Upload.id == self.row["id"]) & (Upload.lock_token == self.token)
            )
        number = len(self.parts) + 1
        self._inflight = asyncio.ensure_future(self._upload(number, payload))

    async def _upload(self, number: int, payload: bytes | bytearray) -> None:
        assert self.multipart_id is not None
        etag = await self.store.upload_part(self.key, self.multipart_id, number, payload)
        self.parts.append({"number": number, "size": len(payload), "etag": etag})

    async def wait(self) -> None:
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def finish(self, *, offset_after: int, complete: bool) -> None:
        """Make the remaining buffer durable: the last part when complete, else a tail piece."""
        await self.wait()
        if complete:
            rest = self._take(len(self.buffer), head=await self._drain_tail())
            if self.multipart_id is None and not self.parts:
                await self.store.put_stream(self.key, _once(rest), content_type=self.row["filetype"])
            elif rest:
                await self._send_part(rest)
                await self.wait()
        elif self.tail_size + len(self.buffer) >= self.store.min_part_size:
            # Big enough to be a part (files: 1 MiB, S3: 5 MiB): no tail piece to write and read back.
            await self._send_part(self._take(len(self.buffer), head=await self._drain_tail()))
            await self.wait()
        elif self.buffer:
            start = offset_after - len(self.buffer)
            piece_key = tail_key(self.row["id"], start)
            await self.store.put_stream(piece_key, _once(self._take(len(self.buffer))))
            self.tail.append({"key": piece_key, "offset": start, "size": offset_after - start})
            self.tail_size += offset_after - start
        if not complete and self.multipart_id is not None and len(self.parts) > self._parts_before:
            await self.store.flush_multipart(self.key, self.multipart_id)  # durable before the offset moves


async def _once(data: bytes | bytearray) -> Any:
    yield data


class ChunkRequest(msgspec.Struct, kw_only=True):
    """One PATCH as the controller parsed it (headers already validated)."""

    upload_id: UUID
    offset: int
    content_length: int | None = None
    checksum: tuple[str, bytes] | None = None


async def append_chunk(
    *, principal: Principal, request: ChunkRequest, body: AsyncIterable[bytes], settings: Settings, store: ObjectStore
) -> UploadState:
    """PATCH: append the body at ``offset``; complete the upload when its last byte arrives.

    Two queries on the happy path (take the lock returning the row; commit releasing it):
    the per-PATCH overhead counts when a 1 GB video arrives in 8 MiB chunks.
    """
    token, row = await _lock_owned(principal=principal, upload_id=request.upload_id)
    try:
        _ensure_alive(row)
        _check_offset(row, request.offset)
        if request.content_length is not None:
            _check_size(request.content_length, remaining=row["length"] - row["offset"], settings=settings)
        if row["status"] == "open" and _hash_lost(row):
            row = await _restart(row=row, store=store, token=token)
            _check_offset(row, request.offset)
        if row["status"] != "completing":
            row = await _write_chunk(row=row, request=request, body=body, settings=settings, store=store, token=token)
        if row["status"] == "completing":  # just completed, or a completion that failed before is retried
            row = await _complete(row=row, store=store, hasher=_restore_hash(row), settings=settings)
    finally:
        if row["lock_token"] == token:  # the commit of an unfinished upload already released it
            await _release_lock(request.upload_id, token)
    return _state(row)


def _check_offset(row: dict[str, Any], offset: int) -> None:
    if row["status"] == "completed" and offset == row["length"]:
        raise UploadFinished(f"upload {row['id']} is complete (evidence {row['evidence_id']})")
    if offset != row["offset"]:
        raise OffsetMismatch(f"Upload-Offset is {offset} but the upload holds {row['offset']} bytes; HEAD it and resume there")


def _check_size(size: int, *, remaining: int, settings: Settings) -> None:
    if size > remaining:
        raise UploadLengthExceeded(f"the body would end {size - remaining} bytes past Upload-Length")
    if size > settings.tus_chunk_limit:
        raise ChunkTooLarge(f"one PATCH may carry at most {settings.tus_chunk_limit} bytes")


def _head(row: dict[str, Any]) -> bytes:
    return base64.b64decode(row["head"]) if row["head"] else b""


def _restore_hash(row: dict[str, Any]) -> hashstate.Sha256 | None:
    if row["hash_state"] is None or row["hash_offset"] != row["offset"]:
        return None
    return hashstate.resume_sha256(base64.b64decode(row["hash_state"]))


def _hash_lost(row: dict[str, Any]) -> bool:
    """Bytes at the content key cannot be read back: without the saved SHA-256 state
    (a process that cannot resume it) they can never be verified."""
    return not is_staging(row["staging_key"]) and row["offset"] > 0 and _restore_hash(row) is None


async def _restart(*, row: dict[str, Any], store: ObjectStore, token: str) -> dict[str, Any]:
    """Start the upload again from byte 0 (HEAD then says 0; tus clients resume there).

    Unverifiable bytes are dropped, never sealed (R-REC-5): a fresh multipart upload and hash.
    """
    log.warning("upload.restarted", upload_id=str(row["id"]), offset=row["offset"], reason="hash state lost")
    await clean_staged(row=row, store=store)
    try:
        multipart_id = await store.create_multipart(row["staging_key"], content_type=row["filetype"])
    except StoreError as exc:
        raise evidence_service.StoreUnavailableError(str(exc)) from exc
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
    updated = (
        await Upload.update(changes)
        .where((Upload.id == row["id"]) & (Upload.lock_token == token))
        .returning(*Upload.all_columns())
    )
    if not updated:
        await abort_quietly(store, row["staging_key"], multipart_id)
        raise UploadLocked(f"upload {row['id']} was taken over by another request; HEAD it and resume")
    fresh: dict[str, Any] = updated[0]
    return fresh


async def _write_chunk(
    *, row: dict[str, Any], request: ChunkRequest, body: AsyncIterable[bytes], settings: Settings, store: ObjectStore, token: str
) -> dict[str, Any]:
    remaining = row["length"] - row["offset"]
    hasher = _restore_hash(row)
    sealed_at_key = not is_staging(row["staging_key"])
    if sealed_at_key and hasher is None:
        raise HashStateUnavailable("the upload's SHA-256 state is missing; it cannot be verified")  # _restart handles it
    head = bytearray(_head(row))
    checksum = ChunkChecksum(*request.checksum) if request.checksum else None
    writer = _PartWriter(row=row, store=store, part_size=store.stream_part_size or settings.s3_part_size, token=token)
    received, interrupted = 0, False
    try:
        async for chunk in body:
            received += len(chunk)
            _check_size(received, remaining=remaining, settings=settings)
            if hasher is not None:
                hasher.update(chunk)  # the whole-file SHA-256, in the same pass (R-REC-5)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if checksum is not None:
                checksum.update(chunk)
            writer.buffer += chunk
            await writer.feed()
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
    new_offset = row["offset"] + received
    complete = new_offset == row["length"]
    await writer.finish(offset_after=new_offset, complete=complete)
    return await _commit(
        row=row, writer=writer, new_offset=new_offset, complete=complete, hasher=hasher, head=bytes(head), settings=settings
    )


async def _settle(writer: _PartWriter) -> None:
    with contextlib.suppress(Exception):
        await writer.wait()


async def _commit(
    *,
    row: dict[str, Any],
    writer: _PartWriter,
    new_offset: int,
    complete: bool,
    hasher: hashstate.Sha256 | None,
    head: bytes,
    settings: Settings,
) -> dict[str, Any]:
    state = hasher.state() if hasher is not None else None
    now = clock.now()
    changes: dict[Any, Any] = {
        Upload.offset: new_offset,
        Upload.parts: writer.parts,
        Upload.tail: writer.tail,
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
    mine = (Upload.id == row["id"]) & (Upload.lock_token == writer.token)
    updated = await Upload.update(changes).where(mine).returning(*Upload.all_columns())
    if not updated:
        raise UploadLocked(f"upload {row['id']} was taken over by another request; HEAD it and resume")
    for piece in writer.consumed_tail:
        with contextlib.suppress(Exception):  # unreferenced now; cleanup of the upload retries it
            await writer.store.delete_staged(piece["key"])
    fresh: dict[str, Any] = updated[0]
    return fresh


# --- completion -------------------------------------------------------------------------


async def _complete(
    *, row: dict[str, Any], store: ObjectStore, hasher: hashstate.Sha256 | None, settings: Settings
) -> dict[str, Any]:
    """All bytes durable: seal the staged object, verify the declared SHA-256, hand over."""
    key = row["staging_key"]
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
        await _reject(row=row, store=store, reason=exc.slug)
        raise
    return await _completed(row=row, store=store, evidence_id=evidence_id, size=size)


async def _complete_at_key(
    *, row: dict[str, Any], store: ObjectStore, hasher: hashstate.Sha256 | None, settings: Settings
) -> dict[str, Any]:
    """The parts already lie at the content key: finalize_capture completes the multipart
    upload if the streamed SHA-256 equals the declared one (the key), or aborts it."""
    if hasher is None:  # only a process that cannot resume the state gets here; never seal unverified bytes
        raise HashStateUnavailable("the upload's SHA-256 state cannot be resumed by this server; retry")
    parts = tuple(UploadedPart(part_number=int(p["number"]), etag=str(p["etag"])) for p in _json(row["parts"]))
    pending = PendingObject(
        key=row["staging_key"],
        upload_id=row["multipart_id"],
        parts=parts,
        size=int(row["length"]),
        sha256=hasher.hexdigest(),
        head=_head(row),
    )
    try:
        evidence_id = await _finalize(row=row, store=store, staged=pending, settings=settings)
    except ProblemError as exc:
        await _reject(row=row, store=store, reason=exc.slug)
        raise
    return await _completed(row=row, store=store, evidence_id=evidence_id, size=pending.size)


async def _completed(*, row: dict[str, Any], store: ObjectStore, evidence_id: UUID, size: int) -> dict[str, Any]:
    now = clock.now()
    await Upload.update(
        {Upload.status: "completed", Upload.evidence_id: evidence_id, Upload.completed_at: now, Upload.updated_at: now}
    ).where(Upload.id == row["id"])
    await clean_staged(row=row, store=store)
    log.info("upload.completed", upload_id=str(row["id"]), evidence_id=str(evidence_id), size=size)
    fresh = await Upload.select().where(Upload.id == row["id"]).first()
    assert fresh is not None
    return fresh


async def _seal(*, row: dict[str, Any], store: ObjectStore) -> tuple[int, str | None]:
    key = row["staging_key"]
    info: ObjectInfo | None = None
    if row["multipart_id"]:
        parts = [UploadedPart(part_number=int(p["number"]), etag=str(p["etag"])) for p in _json(row["parts"])]
        with contextlib.suppress(ObjectMissingError):  # completed before a crash: the object is there
            info = await store.complete_multipart(key, row["multipart_id"], parts)
    if info is None:
        info = await store.stat(key)
    if info is None:
        raise ObjectMissingError(key)
    if info.size != row["length"]:
        raise ObjectMissingError(f"staged {key} holds {info.size} bytes, expected {row['length']}")
    return info.size, info.sha256


async def _rehash(store: ObjectStore, key: str) -> str:
    hasher = hashstate.new_sha256()
    async for block in store.read(key):
        hasher.update(block)
    return hasher.hexdigest()


async def _finalize(*, row: dict[str, Any], store: ObjectStore, staged: StagedObject | PendingObject, settings: Settings) -> UUID:
    context = msgspec.convert(_json(row["context"]), CaptureContext)
    declared = msgspec.convert(_json(row["metadata"]), UploadDeclaration).capture()
    result = await evidence_service.finalize_capture(
        store=store,
        staged=staged,
        declared=declared,
        context=context,
        settings=settings,
        received_at=clock.as_utc(row["created_at"]),
    )
    return result.evidence.id


async def _reject(*, row: dict[str, Any], store: ObjectStore, reason: str) -> None:
    await Upload.update({Upload.status: "rejected", Upload.failure: reason[:255], Upload.updated_at: clock.now()}).where(
        Upload.id == row["id"]
    )
    await clean_staged(row=row, store=store)
    log.warning("upload.rejected", upload_id=str(row["id"]), reason=reason)


async def clean_staged(*, row: dict[str, Any], store: ObjectStore) -> None:
    """Remove every staged byte of an upload; the row keeps the record of what happened."""
    fresh = await Upload.select(Upload.multipart_id, Upload.tail).where(Upload.id == row["id"]).first()
    assert fresh is not None
    if fresh["multipart_id"]:
        await store.abort_multipart(row["staging_key"], fresh["multipart_id"])  # a sealed one is gone: no-op
    for piece in _json(fresh["tail"]):
        await store.delete_staged(piece["key"])
    if is_staging(row["staging_key"]):
        await store.delete_staged(row["staging_key"])
    await Upload.update({Upload.staged_cleaned_at: clock.now()}).where(Upload.id == row["id"])


# --- termination ------------------------------------------------------------------------


async def terminate_upload(*, principal: Principal, upload_id: UUID, store: ObjectStore) -> None:
    """DELETE: stop an unfinished upload and remove its staged bytes."""
    row = await _owned(principal=principal, upload_id=upload_id)
    if row["status"] == "completed":
        raise UploadFinished(f"upload {upload_id} became evidence {row['evidence_id']}, which is write-once (R-REC-6)")
    if row["status"] in {"terminated", "expired", "rejected"}:
        raise UploadGone(f"upload {upload_id} is already {row['status']}")
    token = await _acquire_lock(upload_id)
    try:
        await Upload.update({Upload.status: "terminated", Upload.updated_at: clock.now()}).where(
            (Upload.id == upload_id) & (Upload.lock_token == token)
        )
        await clean_staged(row=row, store=store)
    finally:
        await _release_lock(upload_id, token)
    log.info("upload.terminated", upload_id=str(upload_id))


async def retry_completion(*, upload_id: UUID, store: ObjectStore, settings: Settings) -> UploadState:
    """Finish a completion that a crashed or failed request left in ``completing``."""
    token = await _acquire_lock(upload_id)
    try:
        row = await Upload.select().where(Upload.id == upload_id).first()
        if row is None:
            raise UploadNotFound(f"upload {upload_id} not found")
        if row["status"] == "completing":
            row = await _complete(row=row, store=store, hasher=_restore_hash(row), settings=settings)
    finally:
        await _release_lock(upload_id, token)
    return _state(row)
