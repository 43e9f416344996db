"""What a stored file says about itself: EXIF / container metadata and a thumbnail.

``evidence.media`` parses a file object; this feeds it ranged reads of the stored object
from a worker thread, bounded in time so a slow or odd file never holds up the capture.
"""

from __future__ import annotations

import io
from datetime import UTC, tzinfo
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from evidence import media
from evidence.schemas import CaptureDeclaration, MediaInfo
from evidence.store import ObjectStore
from evidence.threads import own_pool

# Metadata extraction reads headers and one frame; past this the request goes on without it.
METADATA_TIMEOUT_S = 30
_READ_BLOCK = 256 * 1024
# A probe runs in a worker thread and reads the object through the store, whose blocking I/O
# needs threads of AnyIO's default pool: probes take theirs from a pool of their own
# (evidence/threads.py), this big.
PROBE_THREADS = 8


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


async def describe(
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
            lambda: media.describe(media_type, opener, assume_tz=assume_tz),
            abandon_on_cancel=True,
            limiter=own_pool("media-probes", PROBE_THREADS),
        )
    return MediaInfo(error="timeout"), None
