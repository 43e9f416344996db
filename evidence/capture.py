"""Captures becoming evidence (R-REC-5, R-REC-6, R-REC-7).

``finalize_capture`` is the one way verified bytes become evidence, for direct uploads
and resumable (tus) uploads alike: it checks the hash and the type, stores the object once
(``evidence.storing``), writes the record and its ledger events. Staged bytes are always
removed when it returns or raises: they either became a content-addressed object or were
rejected.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from backend.core import clock
from backend.core.db import write_transaction
from backend.core.inputs import check_declaration
from backend.core.rows import json_text
from backend.core.settings import Settings
from backend.ledger.service import append_event
from evidence import media
from evidence.description import describe
from evidence.errors import DisallowedMediaType, HashMismatch, StoreUnavailableError, UploadTooLarge
from evidence.hashing import SizeLimitError, StreamDigest, content_key, limit_size
from evidence.records import SUBJECT, first_record_of, get_evidence, same_capture
from evidence.schemas import CaptureContext, CaptureDeclaration, CaptureResult, EvidenceOut, MediaInfo, StagedObject
from evidence.store import HEAD_BYTES, ObjectStore, PendingObject, StoreError, stream_to_content_key
from evidence.storing import abort_pending, store_once, store_thumbnail
from evidence.tables import EvidenceItem

log = structlog.get_logger("fieldproof.evidence")

OCTET = "application/octet-stream"


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
    size: int | None = None,
) -> CaptureResult:
    """Stream a small capture straight to its content key (hashing as it flows), then finalise it.
    With the body's declared ``size`` (Content-Length) each part is sent while it arrives.

    The bytes go, once, into a multipart upload at ``sha256/<declared hex>``, invisible until
    finalize_capture completes it after checking the hash and the type; a mismatch aborts it
    (R-REC-5). When the key already holds the bytes, the body is only hashed (dedup). A body
    over ``direct_upload_limit`` is refused while streaming (the resumable protocol takes
    larger files); a dropped client or a store failure leaves nothing behind.
    """
    # Issue 15: the declaration is held to the input policy before a byte is stored, so a
    # refused filename, device id or capture time never leaves an object behind.
    check_declaration(declared)
    key = content_key(declared.sha256.lower())
    body = limit_size(chunks, settings.direct_upload_limit)
    received: Received
    try:
        if await store.stat(key) is not None:
            received = await _hash_only(body)
        else:
            received = await stream_to_content_key(
                store, key, body, part_size=settings.s3_part_size, content_type=OCTET, size=size
            )
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
            check_declaration(declared)  # before anything is sealed (a tus row made before the policy)
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
        await abort_pending(store, staged)
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
    # A hashed-only body: its content key already held these very bytes.
    stored_before = isinstance(staged, HashedBody) or await store_once(
        store=store, staged=staged, dst=key, settings=settings, received_at=received_at
    )
    first = await first_record_of(agency_id=context.agency_id, sha256=staged.sha256)
    same = await same_capture(context=context, sha256=staged.sha256)
    if same is not None:
        # A phone retry (or a re-sent capture) for the same case/action: one record.
        return CaptureResult(duplicate=True, evidence=same, created=False)
    info, thumb = await describe(store=store, key=key, media_type=media_type, declared=declared)
    thumb_key, thumb_sha = await store_thumbnail(store=store, thumbnail=thumb, settings=settings, received_at=received_at)
    evidence = await _record(
        staged=staged,
        declared=declared,
        context=context,
        settings=settings,
        media_type=media_type,
        received_at=received_at,
        info=info,
        thumbnail=(thumb_key, thumb_sha),
        duplicate_of=first,
    )
    # "duplicate" only when this agency already held the bytes: another agency's
    # holdings are not disclosed (objects are shared internally by content address).
    return CaptureResult(duplicate=stored_before and first is not None, evidence=evidence)


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
        metadata=json_text(metadata),
        thumbnail_key=thumbnail[0],
        thumbnail_sha256=thumbnail[1],
        duplicate_of=duplicate_of,
        metadata_extracted_at=None if info.error == "timeout" else clock.now(),
    )
    async with write_transaction():
        await EvidenceItem.insert(item)
        await _ledger(item=item, context=context, declared=declared, info=info)
    return await get_evidence(agency_id=context.agency_id, evidence_id=item.id)


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
