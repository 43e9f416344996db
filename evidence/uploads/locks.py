"""The write lock of an upload: a lease in its row, so any number of API processes can
take turns writing one upload, and a crashed process's lock lapses on its own.

The lease is short (``LOCK_LEASE_S``) and renewed while the holder works: every third of it
while bytes flow (``evidence.uploads.writer``) and by ``keep_lock`` while a completion seals
the object. A process that crashed stops renewing, so its lock blocks the next PATCH for at
most ``LOCK_LEASE_S`` (120 s before, issue 15 defect 9), and every 423 says how long in
``retry_after`` (the Retry-After header); HEAD shows the lease as ``lock_expires_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from backend.core import clock, db
from backend.core.auth import Principal
from backend.core.db import lease_write
from backend.core.rows import fetch_one
from evidence.uploads.errors import UploadLocked
from evidence.uploads.state import UploadRow, ensure_alive, owned, returned_row
from evidence.uploads.tables import Upload

# A writer holds the row lock for this long past its last renewal; a crashed process's lock
# lapses after it. Renewed every third of it, so a live writer never loses it between renewals.
LOCK_LEASE_S = 30


class _Lease(msgspec.Struct, kw_only=True):
    lock_token: str | None = None
    lock_expires_at: datetime | None = None


def lock_free(now: datetime) -> Any:
    return Upload.lock_token.is_null() | (Upload.lock_expires_at < now)


def lease_left_s(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds until a held lock lapses (at least 1), or None if none is held."""
    if expires_at is None or expires_at < now:
        return None
    return max(1, math.ceil((expires_at - now).total_seconds()))


def _locked(upload_id: UUID, expires_at: datetime | None, now: datetime) -> UploadLocked:
    seconds = lease_left_s(expires_at, now) or 1  # lapsed between the two queries: retry at once
    return UploadLocked(
        f"another request is writing to upload {upload_id}; its lock lapses in {seconds} s unless renewed",
        retry_after=seconds,
    )


async def acquire_lock(upload_id: UUID) -> str:
    token = secrets.token_hex(16)
    now = clock.now()
    taken = (
        await Upload.update({Upload.lock_token: token, Upload.lock_expires_at: now + timedelta(seconds=LOCK_LEASE_S)})
        .where((Upload.id == upload_id) & lock_free(now))
        .returning(Upload.id)
    )
    if not taken:
        lease = await fetch_one(_Lease, Upload.select(Upload.lock_token, Upload.lock_expires_at).where(Upload.id == upload_id))
        raise _locked(upload_id, lease.lock_expires_at if lease else None, now)
    return token


async def lock_owned(*, principal: Principal, upload_id: UUID) -> tuple[str, UploadRow]:
    """Take the write lock of the caller's upload and return the row as locked (one query)."""
    token = secrets.token_hex(16)
    now = clock.now()
    # Not synced on its own (issue 16): a lease lost in a power cut was simply never taken,
    # and the PATCH's durable commit, which moves the offset, syncs the log past it.
    with lease_write():
        row = await returned_row(
            Upload.update({Upload.lock_token: token, Upload.lock_expires_at: now + timedelta(seconds=LOCK_LEASE_S)}).where(
                (Upload.id == upload_id) & (Upload.owner_id == principal.user_id) & lock_free(now)
            )
        )
    if row is not None:
        return token, row
    row = await owned(principal=principal, upload_id=upload_id)  # 404 for others
    ensure_alive(row)
    raise _locked(upload_id, row.lock_expires_at, now)


async def renew_lock(upload_id: UUID, token: str) -> None:
    await Upload.update({Upload.lock_expires_at: clock.now() + timedelta(seconds=LOCK_LEASE_S)}).where(
        (Upload.id == upload_id) & (Upload.lock_token == token)
    )


@contextlib.asynccontextmanager
async def keep_lock(upload_id: UUID, token: str) -> AsyncIterator[None]:
    """Renew the lease every third of it while the body runs (server work that receives no
    bytes, e.g. sealing a large object); the renewals end with the body or the process."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(LOCK_LEASE_S / 3)
            with contextlib.suppress(Exception):  # a missed renewal is retried; the lease is 3 renewals long
                await renew_lock(upload_id, token)

    # A context of its own: never on the caller's transaction connection (Piccolo keeps the
    # current transaction in a context variable).
    renewing = asyncio.create_task(renew(), name=f"upload-lock-{upload_id}", context=contextvars.Context())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing


async def release_lock(upload_id: UUID, token: str) -> None:
    """Give the lock back. When the database is away (the request failed for that very reason)
    the release is retried in the background until it lands or the lease lapses, so the phone's
    retry after recovery is not answered 423 for the rest of the lease (issue 15.6); the
    request's own outcome is what the client gets."""
    try:
        await _release(upload_id, token)
    except Exception as exc:
        if not db.is_unavailable(exc):
            raise
        task = asyncio.create_task(_release_later(upload_id, token), context=contextvars.Context())
        _pending_releases.add(task)
        task.add_done_callback(_pending_releases.discard)


_pending_releases: set[asyncio.Task[None]] = set()  # strong references until each is done
RELEASE_RETRY_S = 0.5


async def _release(upload_id: UUID, token: str) -> None:
    await Upload.update({Upload.lock_token: None, Upload.lock_expires_at: None}).where(
        (Upload.id == upload_id) & (Upload.lock_token == token)
    )


async def _release_later(upload_id: UUID, token: str) -> None:
    for _ in range(int(LOCK_LEASE_S / RELEASE_RETRY_S)):
        await asyncio.sleep(RELEASE_RETRY_S)
        with contextlib.suppress(Exception):  # still away: try again; the lease lapses anyway
            await _release(upload_id, token)
            return
