"""Chunks handed from a receiving loop to one consumer that takes whatever arrived since its
last take: one write, send or hash call per batch, not per chunk (issue 16)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

# What a consumer takes at least per call (unless the stream ended): 1 MiB, 8 calls per 8 MiB PATCH.
BATCH = 1024 * 1024


class Batches:
    """Chunks handed from the receive loop to one consumer, which takes everything that
    arrived since its last take once it adds up to ``min_size`` (or the stream ended): one
    write or hash call per batch, not per chunk — every call is a thread hop, which costs
    milliseconds on a loaded machine."""

    def __init__(self, min_size: int = 0) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._min_size = min_size
        self._ready = asyncio.Event()
        self._closed = False
        self._error: BaseException | None = None

    def put(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size >= self._min_size:
            self._ready.set()

    def close(self, error: BaseException | None = None) -> None:
        self._closed, self._error = True, error
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[list[bytes]]:
        while True:
            if self._error is not None:
                raise self._error
            if self._chunks and (self._closed or self._size >= self._min_size):
                batch, self._chunks, self._size = self._chunks, [], 0
                yield batch
                continue
            if self._closed:
                return
            await self._ready.wait()
            self._ready.clear()
