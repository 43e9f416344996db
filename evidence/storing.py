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
        if await store.stat(dst) is not None:
            return True
        try:
            await store.copy(staged.key, dst)
        except ObjectExistsError:
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
        return True  # identical bytes were sealed first (the store aborted this upload)
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
