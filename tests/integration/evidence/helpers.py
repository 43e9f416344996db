"""Helpers for evidence tests."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from evidence.schemas import CaptureDeclaration
from evidence.store import ObjectStore

CHINA = timezone(timedelta(hours=8))


def declare(data: bytes, kind: str = "photo", *, captured_at: datetime | None = None, **fields: Any) -> CaptureDeclaration:
    return CaptureDeclaration(
        sha256=hashlib.sha256(data).hexdigest(),
        kind=kind,  # type: ignore[arg-type]
        captured_at=captured_at or datetime.now(UTC).astimezone(CHINA),
        device_id="device-1",
        **fields,
    )


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([block async for block in store.read(key, start, end)])
