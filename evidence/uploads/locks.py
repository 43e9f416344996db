"""The write lock of an upload: a lease in its row, so any number of API processes can
take turns writing one upload, and a crashed process's lock lapses on its own."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from backend.core import clock
from backend.core.auth import Principal
from evidence.uploads.errors import UploadLocked
from evidence.uploads.state import UploadRow, ensure_alive, owned, returned_row
from evidence.uploads.tables import Upload

# A PATCH holds the row lock for this long unless it renews it (it does, while bytes flow);
# a crashed process's lock lapses after it.
LOCK_LEASE_S = 120


def lock_free(now: datetime) -> Any:
    return Upload.lock_token.is_null() | (Upload.lock_expires_at < now)


async def acquire_lock(upload_id: UUID) -> str:
    token = secrets.token_hex(16)
    now = clock.now()
    taken = (
        await Upload.update({Upload.lock_token: token, Upload.lock_expires_at: now + timedelta(seconds=LOCK_LEASE_S)})
        .where((Upload.id == upload_id) & lock_free(now))
        .returning(Upload.id)
    )
    if not taken:
        raise UploadLocked(f"another request is writing to upload {upload_id}; retry after it ends")
    return token


async def lock_owned(*, principal: Principal, upload_id: UUID) -> tuple[str, UploadRow]:
    """Take the write lock of the caller's upload and return the row as locked (one query)."""
    token = secrets.token_hex(16)
    now = clock.now()
    row = await returned_row(
        Upload.update({Upload.lock_token: token, Upload.lock_expires_at: now + timedelta(seconds=LOCK_LEASE_S)}).where(
            (Upload.id == upload_id) & (Upload.owner_id == principal.user_id) & lock_free(now)
        )
    )
    if row is not None:
        return token, row
    row = await owned(principal=principal, upload_id=upload_id)  # 404 for others
    ensure_alive(row)
    raise UploadLocked(f"another request is writing to upload {upload_id}; retry after it ends")


async def renew_lock(upload_id: UUID, token: str) -> None:
    await Upload.update({Upload.lock_expires_at: clock.now() + timedelta(seconds=LOCK_LEASE_S)}).where(
        (Upload.id == upload_id) & (Upload.lock_token == token)
    )


async def release_lock(upload_id: UUID, token: str) -> None:
    await Upload.update({Upload.lock_token: None, Upload.lock_expires_at: None}).where(
        (Upload.id == upload_id) & (Upload.lock_token == token)
    )
