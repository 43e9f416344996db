"""Several hundred MB stream through both stores without the process growing (bounded memory)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import psutil
import pytest

from evidence.store import ObjectStore

MiB = 1024 * 1024
SIZE = 300 * MiB
# Generous against allocator noise, far below the object size: proves nothing is buffered whole.
MAX_GROWTH = 100 * MiB


class PeakRss:
    """Samples this process's RSS in a thread; memory, not time, is asserted."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def generated(size: int, expected: Any) -> AsyncIterator[bytes]:
    block = bytearray(hashlib.sha256(b"seed").digest() * (64 * 1024 // 32))  # 64 KiB, like network reads
    sent = 0
    counter = 0
    while sent < size:
        counter += 1
        block[:8] = counter.to_bytes(8, "big")  # every chunk differs
        chunk = bytes(block[: min(len(block), size - sent)])
        expected.update(chunk)
        sent += len(chunk)
        yield chunk


@pytest.mark.slow
async def test_hundreds_of_megabytes_stream_in_and_out_with_bounded_memory(store: ObjectStore) -> None:
    expected = hashlib.sha256()
    with PeakRss() as upload_rss:
        info = await store.put_stream("staging/large", generated(SIZE, expected))
    assert info.size == SIZE
    assert info.sha256 == expected.hexdigest()
    assert upload_rss.growth < MAX_GROWTH, f"RSS grew {upload_rss.growth / MiB:.0f} MiB while uploading"

    key = f"sha256/{info.sha256}"
    with PeakRss() as copy_rss:
        await store.copy("staging/large", key)
        readback = hashlib.sha256()
        size = 0
        async for block in store.read(key):
            readback.update(block)
            size += len(block)
    assert (size, readback.hexdigest()) == (SIZE, info.sha256)
    assert copy_rss.growth < MAX_GROWTH, f"RSS grew {copy_rss.growth / MiB:.0f} MiB while copying/reading"
    await store.delete_staged("staging/large")
