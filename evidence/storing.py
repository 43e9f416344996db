"""Verified bytes under their content key, written once and sealed (R-REC-6).

Only ``evidence.capture`` calls these, after the SHA-256 and the type were checked: an
object at ``sha256/<hex>`` is never overwritten, and with object lock it is retained from
the time it was received.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import anyio
import structlog

from backend.core.settings import Settings
from evidence.errors import StoreUnavailableError
from evidence.hashing import content_key
from evidence.schemas import StagedObject
from evidence.store import (
    ObjectExistsError,
    ObjectInfo,
    ObjectMissingError,
    ObjectStore,
    PendingObject,
    StoreError,
    abort_quietly,
)

log = structlog.get_logger("fieldproof.evidence")


async def store_once(
    *, store: ObjectStore, staged: StagedObject | PendingObject, dst: str, settings: Settings, received_at: datetime
) -> bool:
    """Put verified bytes under their content key unless already there; True if they were."""
    try:
        if isinstance(staged, PendingObject):
            return await _complete_pending(store=store, pending=staged, settings=settings, received_at=received_at)
        found = await store.stat(dst)
        if found is not None:
            await _seal_found(store=store, key=dst, settings=settings, received_at=received_at, info=found)
            return True
        try:
            await store.copy(staged.key, dst)
        except ObjectExistsError:
            await _seal_found(store=store, key=dst, settings=settings, received_at=received_at)
            return True  # a concurrent identical upload won the race: same bytes
        await seal(store=store, key=dst, settings=settings, received_at=received_at)
    except StoreError as exc:
        log.warning("evidence.store_failed", key=dst, error=str(exc))
        raise StoreUnavailableError(str(exc)) from exc
    return False


async def abort_pending(store: ObjectStore, pending: PendingObject) -> None:
    """A multipart upload that must never be sealed is aborted, even under cancellation."""
    with anyio.CancelScope(shield=True):
        await abort_quietly(store, pending.key, pending.upload_id)


async def _complete_pending(*, store: ObjectStore, pending: PendingObject, settings: Settings, received_at: datetime) -> bool:
    """Seal the multipart upload at its content key: the hash was verified just before."""
    try:
        await store.complete_multipart(pending.key, pending.upload_id, pending.parts, sha256=pending.sha256)
    except ObjectExistsError:
        # Identical bytes were written first (the store aborted this upload) — by another
        # capture, or by this one before the store went away and before it was sealed.
        await _seal_found(store=store, key=pending.key, settings=settings, received_at=received_at)
        return True
    except ObjectMissingError:
        # The upload is gone: an earlier attempt completed it and stopped before its record
        # (a tus completion retried after a crash). The object must be there, whole.
        info = await store.stat(pending.key)
        if info is None or info.size != pending.size:
            raise StoreError(f"upload {pending.upload_id} vanished and {pending.key} does not hold its bytes") from None
        await seal(store=store, key=pending.key, settings=settings, received_at=received_at)  # extend-only: safe again
        return True
    except StoreError:
        await abort_pending(store, pending)  # not completed; if it was and the answer got lost, a no-op
        raise
    await seal(store=store, key=pending.key, settings=settings, received_at=received_at)
    return False


async def seal(*, store: ObjectStore, key: str, settings: Settings, received_at: datetime) -> None:
    # R-REC-6: write-once; with object lock the retention is set explicitly after the write
    # (default bucket retention is not applied to multipart completions).
    if settings.evidence_retention_days > 0:
        await store.set_retention(key, received_at + timedelta(days=settings.evidence_retention_days))


async def _seal_found(
    *, store: ObjectStore, key: str, settings: Settings, received_at: datetime, info: ObjectInfo | None = None
) -> None:
    """Bytes already under their key are retained at least as long as this capture needs.

    A completion the store failed between writing and sealing is retried (issue 15.6) and finds
    its object written but unretained; an object another capture stored may be retained for a
    shorter time than this one's record needs. Retention only ever grows (COMPLIANCE).
    """
    if settings.evidence_retention_days <= 0:
        return
    until = received_at + timedelta(days=settings.evidence_retention_days)
    info = info or await store.stat(key)
    if info is not None and info.retain_until is not None and info.retain_until >= until - timedelta(seconds=1):
        return
    await store.set_retention(key, until)


async def store_thumbnail(
    *, store: ObjectStore, thumbnail: bytes | None, settings: Settings, received_at: datetime
) -> tuple[str | None, str | None]:
    """Derived images are separate content-addressed objects (SWGDE), never the original."""
    if thumbnail is None:
        return None, None
    sha = hashlib.sha256(thumbnail).hexdigest()
    key = content_key(sha)
    try:
        if await store.stat(key) is None:

            async def one_chunk() -> AsyncIterator[bytes]:
                yield thumbnail

            await store.put_stream(key, one_chunk(), content_type="image/jpeg")
            await seal(store=store, key=key, settings=settings, received_at=received_at)
    except ObjectExistsError:
        pass
    except StoreError as exc:  # the original is safe; a thumbnail can be made again later
        log.warning("evidence.thumbnail_failed", key=key, error=str(exc))
        return None, None
    return key, sha
