"""Evidence rules: finalising captures (R-REC-5, R-REC-6), reading records, legal hold.

``finalize_capture`` is the one way verified bytes become evidence, for direct uploads
and resumable (tus) uploads alike. Staged bytes are always removed when it returns or
raises: they either became a content-addressed object or were rejected.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

import anyio
import anyio.from_thread
import anyio.to_thread
import msgspec
import structlog

from backend.core import clock
from backend.core.db import write_transaction
from backend.core.errors import InvalidInput, NotFound, PayloadTooLarge, ProblemError, UnsupportedMediaType
from backend.core.settings import Settings
from backend.ledger.service import append_event
from evidence import media
from evidence.hashing import SizeLimitError, StreamDigest, content_key, limit_size
from evidence.schemas import (
    CaptureContext,
    CaptureDeclaration,
    CaptureResult,
    EvidenceOut,
    GeoPoint,
    MediaInfo,
    StagedObject,
)
from evidence.store import (
    HEAD_BYTES,
    ObjectExistsError,
    ObjectMissingError,
    ObjectStore,
    PendingObject,
    StoreError,
    abort_quietly,
    stream_to_content_key,
)
from evidence.tables import EvidenceItem

log = structlog.get_logger("fieldproof.evidence")

SUBJECT = "evidence"
# Metadata extraction reads headers and one frame; past this the request goes on without it.
METADATA_TIMEOUT_S = 30
_READ_BLOCK = 256 * 1024
OCTET = "application/octet-stream"


class HashMismatch(InvalidInput):
    slug = "hash-mismatch"
    title = "The file does not match its declared SHA-256"


class DisallowedMediaType(UnsupportedMediaType):
    slug = "disallowed-media-type"
    title = "This file type is not accepted for this kind of evidence"


class UploadTooLarge(PayloadTooLarge):
    slug = "upload-too-large"
    title = "Too large for a direct upload"


class StoreUnavailableError(ProblemError):
    status: ClassVar[int] = 503
    slug: ClassVar[str] = "object-store-unavailable"
    title: ClassVar[str] = "The evidence store is unavailable; retry later"


# --- direct upload -------------------------------------------------------------------------


class HashedBody(msgspec.Struct, frozen=True, kw_only=True):
    """A body that was only hashed (its content key already held identical bytes)."""

    sha256: str
    size: int
    head: bytes


# What finalize_capture accepts: bytes staged under ``staging/`` (copied to their content key
# once verified), an open multipart upload at the content key (completed once verified), or
# a body whose bytes the store already holds (verified by hash, nothing written).
Received = StagedObject | PendingObject | HashedBody


async def receive_direct(
    *,
    store: ObjectStore,
    chunks: AsyncIterable[bytes],
    declared: CaptureDeclaration,
    context: CaptureContext,
    settings: Settings,
) -> CaptureResult:
    """Stream a small capture straight to its content key (hashing as it flows), then finalise it.

    The bytes go, once, into a multipart upload at ``sha256/<declared hex>``, invisible until
    finalize_capture completes it after checking the hash and the type; a mismatch aborts it
    (R-REC-5). When the key already holds the bytes, the body is only hashed (dedup). A body
    over ``direct_upload_limit`` is refused while streaming (the resumable protocol takes
    larger files); a dropped client or a store failure leaves nothing behind.
    """
    key = content_key(declared.sha256.lower())
    body = limit_size(chunks, settings.direct_upload_limit)
    received: Received
    try:
        if await store.stat(key) is not None:
            received = await _hash_only(body)
        else:
            received = await stream_to_content_key(store, key, body, part_size=settings.s3_part_size, content_type=OCTET)
    except SizeLimitError:
        raise UploadTooLarge(
            f"direct uploads are limited to {settings.direct_upload_limit} bytes; use the resumable upload",
            limit=settings.direct_upload_limit,
        ) from None
    except StoreError as exc:
        log.warning("evidence.store_failed", key=key, error=str(exc))
        raise StoreUnavailableError(str(exc)) from exc
    return await finalize_capture(store=store, staged=received, declared=declared, context=context, settings=settings)


async def _hash_only(chunks: AsyncIterable[bytes]) -> HashedBody:
    digest = StreamDigest()
    head = bytearray()
    async for chunk in chunks:
        digest.update(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
    return HashedBody(sha256=digest.hexdigest, size=digest.size, head=bytes(head))


# --- finalising ------------------------------------------------------------------------------


async def finalize_capture(
    *,
    store: ObjectStore,
    staged: Received,
    declared: CaptureDeclaration,
    context: CaptureContext,
    settings: Settings,
    received_at: datetime | None = None,
) -> CaptureResult:
    """Turn fully received bytes into a content-addressed object and an evidence record.

    ``staged.sha256`` must be the hash the server computed while the bytes arrived.
    Raises HashMismatch (422) or DisallowedMediaType (415) — after discarding the bytes
    (staged key deleted, pending upload aborted: nothing ever became visible) and appending
    an ``evidence.rejected`` ledger event. A staged key is deleted in every outcome.
    ``received_at`` defaults to now (tus: pass the upload's first byte time).
    """
    received_at = received_at or clock.now()
    try:
        try:
            media_type = await _verify(store=store, staged=staged, declared=declared, context=context)
        except BaseException:
            await _discard(store, staged)
            raise
        return await _attach(
            store=store,
            staged=staged,
            declared=declared,
            context=context,
            settings=settings,
            media_type=media_type,
            received_at=received_at,
        )
    finally:
        if isinstance(staged, StagedObject):
            await _discard(store, staged)


async def _discard(store: ObjectStore, staged: Received) -> None:
    """Staged copies are removed; a pending upload (never sealed) is aborted."""
    if isinstance(staged, PendingObject):
        with anyio.CancelScope(shield=True):
            await abort_quietly(store, staged.key, staged.upload_id)
        return
    if isinstance(staged, StagedObject):
        try:
            await store.delete_staged(staged.key)
        except StoreError as exc:  # the sweeper retries; never hide the real outcome
            log.warning("evidence.staged_not_deleted", key=staged.key, error=str(exc))


async def _verify(*, store: ObjectStore, staged: Received, declared: CaptureDeclaration, context: CaptureContext) -> str:
    # R-REC-5: the server's hash must equal the one the phone computed at capture.
    declared_hex = declared.sha256.lower()
    if staged.sha256 != declared_hex:
        await _reject(context, declared, staged, reason="hash-mismatch")
        raise HashMismatch(
            "the SHA-256 of the received bytes differs from the declared one; nothing was attached",
            field="sha256",
            declared_sha256=declared_hex,
            received_sha256=staged.sha256,
        )
    if isinstance(staged, StagedObject):
        head = b"".join([block async for block in store.read(staged.key, 0, media.SNIFF_BYTES)])
    else:
        head = staged.head[: media.SNIFF_BYTES]
    media_type = media.allowed_type(declared.kind, head)
    if media_type is None:
        await _reject(context, declared, staged, reason="disallowed-media-type", sniffed=media.sniff(head))
        allowed = ", ".join(sorted(media.ALLOWED_TYPES[declared.kind]))
        raise DisallowedMediaType(
            f"the bytes are {media.sniff(head) or 'of an unknown type'}; a {declared.kind} must be one of: {allowed}",
            field="kind",
        )
    return media_type


async def _reject(
    context: CaptureContext, declared: CaptureDeclaration, staged: Received, *, reason: str, sniffed: str | None = None
) -> None:
    await append_event(
        event="evidence.rejected",
        actor_id=context.officer_id,
        agency_id=context.agency_id,
        subject_type="capture",
        subject_id=declared.sha256.lower(),
        case_id=context.case_id,
        action_id=context.action_id,
        details={
            "reason": reason,
            "declared_sha256": declared.sha256.lower(),
            "received_sha256": staged.sha256,
            "size": staged.size,
            "kind": declared.kind,
            "sniffed_type": sniffed,
            "device_id": declared.device_id,
        },
    )


async def _attach(
    *,
    store: ObjectStore,
    staged: Received,
    declared: CaptureDeclaration,
    context: CaptureContext,
    settings: Settings,
    media_type: str,
    received_at: datetime,
) -> CaptureResult:
    key = content_key(staged.sha256)
    stored_before = await _store_once(store=store, staged=staged, dst=key, settings=settings, received_at=received_at)
    first = await _first_record(agency_id=context.agency_id, sha256=staged.sha256)
    same = await _same_capture(context=context, sha256=staged.sha256)
    if same is not None:
        # A phone retry (or a re-sent capture) for the same case/action: one record.
        return CaptureResult(duplicate=True, evidence=same, created=False)
    info, thumb = await _describe(store=store, key=key, media_type=media_type, declared=declared)
    thumb_key, thumb_sha = await _store_thumbnail(store=store, thumbnail=thumb, settings=settings, received_at=received_at)
    evidence = await _record(
        staged=staged,
        declared=declared,
        context=context,
        settings=settings,
        media_type=media_type,
        received_at=received_at,
        info=info,
        thumbnail=(thumb_key, thumb_sha),
        duplicate_of=first["id"] if first else None,
    )
    # "duplicate" only when this agency already held the bytes: another agency's
    # holdings are not disclosed (objects are shared internally by content address).
    return CaptureResult(duplicate=stored_before and first is not None, evidence=evidence)


async def _store_once(*, store: ObjectStore, staged: Received, dst: str, settings: Settings, received_at: datetime) -> bool:
    """Put verified bytes under their content key unless already there; True if they were."""
    try:
        if isinstance(staged, HashedBody):
            return True
        if isinstance(staged, PendingObject):
            return await _complete_pending(store=store, pending=staged, settings=settings, received_at=received_at)
        if await store.stat(dst) is not None:
            return True
        try:
            await store.copy(staged.key, dst)
        except ObjectExistsError:
            return True  # a concurrent identical upload won the race: same bytes
        await _seal(store=store, key=dst, settings=settings, received_at=received_at)
    except StoreError as exc:
        log.warning("evidence.store_failed", key=dst, error=str(exc))
        raise StoreUnavailableError(str(exc)) from exc
    return False


async def _complete_pending(*, store: ObjectStore, pending: PendingObject, settings: Settings, received_at: datetime) -> bool:
    """Seal the multipart upload at its content key: the hash was verified just before."""
    try:
        await store.complete_multipart(pending.key, pending.upload_id, pending.parts, sha256=pending.sha256)
    except ObjectExistsError:
        return True  # identical bytes were sealed first (the store aborted this upload)
    except ObjectMissingError:
        # The upload is gone: an earlier attempt completed it and stopped before its record
        # (a tus completion retried after a crash). The object must be there, whole.
        info = await store.stat(pending.key)
        if info is None or info.size != pending.size:
            raise StoreError(f"upload {pending.upload_id} vanished and {pending.key} does not hold its bytes") from None
        await _seal(store=store, key=pending.key, settings=settings, received_at=received_at)  # extend-only: safe again
        return True
    except StoreError:
        await _discard(store, pending)  # not completed; if it was and the answer got lost, a no-op
        raise
    await _seal(store=store, key=pending.key, settings=settings, received_at=received_at)
    return False


async def _seal(*, store: ObjectStore, key: str, settings: Settings, received_at: datetime) -> None:
    # R-REC-6: write-once; with object lock the retention is set explicitly after the write
    # (default bucket retention is not applied to multipart completions).
    if settings.evidence_retention_days > 0:
        await store.set_retention(key, received_at + timedelta(days=settings.evidence_retention_days))


async def _first_record(*, agency_id: uuid.UUID, sha256: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await EvidenceItem.select(EvidenceItem.id)
        .where((EvidenceItem.agency == agency_id) & (EvidenceItem.sha256 == sha256))
        .order_by(EvidenceItem.received_at)
        .first()
    )
    return row


async def _same_capture(*, context: CaptureContext, sha256: str) -> EvidenceOut | None:
    query = EvidenceItem.select().where(
        (EvidenceItem.agency == context.agency_id) & (EvidenceItem.case_id == context.case_id) & (EvidenceItem.sha256 == sha256)
    )
    query = query.where(
        EvidenceItem.action_id.is_null() if context.action_id is None else EvidenceItem.action_id == context.action_id
    )
    row = await query.first()
    return _out(row) if row else None


# --- metadata and thumbnails ------------------------------------------------------------------


class _StoreFile(io.RawIOBase):
    """A seekable read-only file over ranged store reads, used from a worker thread."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self._store = store
        self._key = key
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._size, self._pos + len(view))
        if end <= self._pos:
            return 0
        data = anyio.from_thread.run(self._fetch, self._pos, end)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    async def _fetch(self, start: int, end: int) -> bytes:
        return b"".join([block async for block in self._store.read(self._key, start, end)])


async def _describe(
    *, store: ObjectStore, key: str, media_type: str, declared: CaptureDeclaration
) -> tuple[MediaInfo, bytes | None]:
    """EXIF / container metadata and a thumbnail, bounded in time (never blocks for long)."""
    stat = await store.stat(key)
    size = stat.size if stat else 0
    # EXIF times without an offset were written by the same phone: use its declared offset.
    assume_tz: tzinfo = declared.captured_at.tzinfo or UTC

    def opener() -> io.BufferedReader:
        return io.BufferedReader(_StoreFile(store, key, size), buffer_size=_READ_BLOCK)

    with anyio.move_on_after(METADATA_TIMEOUT_S):
        return await anyio.to_thread.run_sync(
            lambda: media.describe(media_type, opener, assume_tz=assume_tz), abandon_on_cancel=True
        )
    return MediaInfo(error="timeout"), None


async def _store_thumbnail(
    *, store: ObjectStore, thumbnail: bytes | None, settings: Settings, received_at: datetime
) -> tuple[str | None, str | None]:
    """Derived images are separate content-addressed objects (SWGDE), never the original."""
    if thumbnail is None:
        return None, None
    sha = hashlib.sha256(thumbnail).hexdigest()
    key = content_key(sha)
    try:
        if await store.stat(key) is None:

            async def one_chunk() -> Any:
                yield thumbnail

            await store.put_stream(key, one_chunk(), content_type="image/jpeg")
            await _seal(store=store, key=key, settings=settings, received_at=received_at)
    except ObjectExistsError:
        pass
    except StoreError as exc:  # the original is safe; a thumbnail can be made again later
        log.warning("evidence.thumbnail_failed", key=key, error=str(exc))
        return None, None
    return key, sha


# --- the record ------------------------------------------------------------------------------


def skew_flag(
    *, declared: CaptureDeclaration, received_at: datetime, media_time: datetime | None, tolerance_s: int
) -> tuple[float | None, bool]:
    """Device clock vs server clock, and media clock vs device clock (design: two clocks).

    Flagged when the device clock was off by more than the tolerance when it sent the
    upload, when the capture claims a time after the server received it, or when the
    file's own time disagrees with the device's capture time.
    """
    skew = (declared.device_sent_at - received_at).total_seconds() if declared.device_sent_at else None
    flagged = skew is not None and abs(skew) > tolerance_s
    if (declared.captured_at - received_at).total_seconds() > tolerance_s:
        flagged = True
    if media_time is not None and abs((media_time - declared.captured_at).total_seconds()) > tolerance_s:
        flagged = True
    return (round(skew, 3) if skew is not None else None), flagged


async def _record(
    *,
    staged: Received,
    declared: CaptureDeclaration,
    context: CaptureContext,
    settings: Settings,
    media_type: str,
    received_at: datetime,
    info: MediaInfo,
    thumbnail: tuple[str | None, str | None],
    duplicate_of: uuid.UUID | None,
) -> EvidenceOut:
    skew, flagged = skew_flag(
        declared=declared, received_at=received_at, media_time=info.media_captured_at, tolerance_s=settings.clock_skew_tolerance_s
    )
    if media_type == "audio/mp4" and info.has_video:
        media_type = "video/mp4"  # probing shows pictures: not an audio-only file
    metadata = msgspec.to_builtins(info)
    if info.media_captured_at is not None:
        metadata["media_device_skew_s"] = round((info.media_captured_at - declared.captured_at).total_seconds(), 3)
    item = EvidenceItem(
        id=uuid.uuid4(),
        agency=context.agency_id,
        uploader=context.officer_id,
        case_id=context.case_id,
        action_id=context.action_id,
        certificate_snapshot_id=context.certificate_snapshot_id,
        kind=declared.kind,
        status="verified",
        sha256=staged.sha256,
        size=staged.size,
        media_type=media_type,
        object_key=content_key(staged.sha256),
        filename=declared.filename,
        device_id=declared.device_id,
        device_captured_at=declared.captured_at.astimezone(UTC),
        media_captured_at=info.media_captured_at,
        received_at=received_at,
        clock_skew_s=skew,
        clock_skew_flagged=flagged,
        lat=declared.lat,
        lon=declared.lon,
        accuracy_m=declared.accuracy_m,
        duration_s=info.duration_s,
        has_audio=info.has_audio or (declared.kind == "audio" and info.error is None and media_type.startswith("audio/")),
        has_video=info.has_video,
        width=info.width,
        height=info.height,
        metadata=msgspec.json.encode(metadata).decode(),
        thumbnail_key=thumbnail[0],
        thumbnail_sha256=thumbnail[1],
        duplicate_of=duplicate_of,
        metadata_extracted_at=None if info.error == "timeout" else clock.now(),
    )
    async with write_transaction():
        await EvidenceItem.insert(item)
        await _ledger(item=item, context=context, declared=declared, info=info)
    row = await EvidenceItem.select().where(EvidenceItem.id == item.id).first()
    assert row is not None
    return _out(row)


async def _ledger(*, item: EvidenceItem, context: CaptureContext, declared: CaptureDeclaration, info: MediaInfo) -> None:
    """R-REC-7: one ledger event per step, committed together with the record."""
    common: dict[str, Any] = {
        "actor_id": context.officer_id,
        "agency_id": context.agency_id,
        "subject_type": SUBJECT,
        "subject_id": str(item.id),
        "case_id": context.case_id,
        "action_id": context.action_id,
    }
    await append_event(
        event="evidence.received",
        **common,
        details={
            "sha256": item.sha256,
            "size": item.size,
            "device_id": declared.device_id,
            "received_at": item.received_at.isoformat(),
        },
    )
    await append_event(
        event="evidence.verified",
        **common,
        details={"declared_sha256": declared.sha256.lower(), "computed_sha256": item.sha256, "media_type": item.media_type},
    )
    await append_event(
        event="evidence.attached",
        **common,
        details={"object_key": item.object_key, "certificate_snapshot_id": context.certificate_snapshot_id, "kind": item.kind},
    )
    await append_event(
        event="evidence.metadata_extracted",
        **common,
        details={
            "media_captured_at": info.media_captured_at.isoformat() if info.media_captured_at else None,
            "duration_s": info.duration_s,
            "clock_skew_flagged": item.clock_skew_flagged,
            "thumbnail_sha256": item.thumbnail_sha256,
            "error": info.error,
        },
    )


def _out(row: Mapping[str, Any]) -> EvidenceOut:
    metadata = row["metadata"]
    if isinstance(metadata, str):
        metadata = msgspec.json.decode(metadata)
    location = metadata.get("location") if isinstance(metadata, dict) else None
    return EvidenceOut(
        id=row["id"],
        agency_id=row["agency"],
        case_id=row["case_id"],
        action_id=row["action_id"],
        uploader_id=row["uploader"],
        certificate_snapshot_id=row["certificate_snapshot_id"],
        kind=row["kind"],
        status=row["status"],
        sha256=row["sha256"],
        size=int(row["size"]),
        media_type=row["media_type"],
        object_key=row["object_key"],
        filename=row["filename"],
        device_id=row["device_id"],
        device_captured_at=clock.as_utc(row["device_captured_at"]),
        media_captured_at=clock.as_utc(row["media_captured_at"]) if row["media_captured_at"] else None,
        received_at=clock.as_utc(row["received_at"]),
        clock_skew_s=row["clock_skew_s"],
        clock_skew_flagged=bool(row["clock_skew_flagged"]),
        lat=row["lat"],
        lon=row["lon"],
        accuracy_m=row["accuracy_m"],
        media_location=msgspec.convert(location, GeoPoint) if location else None,
        duration_s=row["duration_s"],
        has_audio=bool(row["has_audio"]),
        has_video=bool(row["has_video"]),
        width=row["width"],
        height=row["height"],
        metadata=metadata,
        thumbnail_key=row["thumbnail_key"],
        thumbnail_sha256=row["thumbnail_sha256"],
        duplicate_of=row["duplicate_of"],
    )


# --- reading ---------------------------------------------------------------------------------


async def get_evidence(*, agency_id: uuid.UUID, evidence_id: uuid.UUID) -> EvidenceOut:
    """One record of the caller's agency; another agency's record is NotFound."""
    row = await EvidenceItem.select().where((EvidenceItem.id == evidence_id) & (EvidenceItem.agency == agency_id)).first()
    if row is None:
        raise NotFound("no such evidence")
    return _out(row)


async def list_for_action(*, agency_id: uuid.UUID, action_id: uuid.UUID) -> list[EvidenceOut]:
    """Records attached to an action, oldest media first (video coverage, R-REC-4).

    Each carries ``media_started_at`` (media clock, else device clock), ``duration_s``,
    ``has_audio``, ``has_video`` and ``status``.
    """
    rows = (
        await EvidenceItem.select()
        .where((EvidenceItem.agency == agency_id) & (EvidenceItem.action_id == action_id))
        .order_by(EvidenceItem.device_captured_at)
    )
    return sorted((_out(r) for r in rows), key=lambda e: (e.media_started_at, str(e.id)))


async def list_for_case(*, agency_id: uuid.UUID, case_id: uuid.UUID) -> list[EvidenceOut]:
    rows = (
        await EvidenceItem.select()
        .where((EvidenceItem.agency == agency_id) & (EvidenceItem.case_id == case_id))
        .order_by(EvidenceItem.received_at)
    )
    return [_out(r) for r in rows]


# --- legal hold ------------------------------------------------------------------------------


async def set_legal_hold(
    *, store: ObjectStore, agency_id: uuid.UUID, evidence_id: uuid.UUID, actor_id: uuid.UUID, on: bool, reason: str
) -> EvidenceOut:
    """Place or release a legal hold on the stored object (R-REC-6); ledgered (R-REC-7)."""
    evidence = await get_evidence(agency_id=agency_id, evidence_id=evidence_id)
    try:
        await store.set_legal_hold(evidence.object_key, on)
    except StoreError as exc:
        raise StoreUnavailableError(str(exc)) from exc
    await append_event(
        event="evidence.held" if on else "evidence.released",
        actor_id=actor_id,
        agency_id=agency_id,
        subject_type=SUBJECT,
        subject_id=str(evidence.id),
        case_id=evidence.case_id,
        action_id=evidence.action_id,
        details={"object_key": evidence.object_key, "reason": reason},
    )
    return evidence
