"""Chunks handed from a receiving loop to one consumer that takes whatever arrived since its
last take: one write, send or hash call per batch, not per chunk (issue 16)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator


class Batches:
    """Chunks handed from the receive loop to one consumer, which takes everything that
    arrived since its last take (one write or hash call per batch, not per chunk)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._ready = asyncio.Event()
        self._closed = False
        self._error: BaseException | None = None

    def put(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._ready.set()

    def close(self, error: BaseException | None = None) -> None:
        self._closed, self._error = True, error
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[list[bytes]]:
        while True:
            if self._error is not None:
                raise self._error
            if self._chunks:
                batch, self._chunks = self._chunks, []
                yield batch
                continue
            if self._closed:
                return
            await self._ready.wait()
            self._ready.clear()
