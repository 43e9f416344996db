"""One PATCH body sent to the store as one part while it still arrives (issue 16).

A PATCH declares its length, so when its bytes (plus the tail pieces before them) make a
part big enough for the store, the part starts at the first byte: the file store writes
each batch as it comes, S3 receives it as the streamed body of one UploadPart. The
SHA-256 (R-REC-5) runs beside it in a worker thread over the same batches, in order. The
offset still moves only after the part is stored and flushed. If the body ends short (the
client left), the part is not recorded and what did arrive takes the buffered path
(``evidence.uploads.writer``), so received bytes are kept as before (docs/PITFALLS.md).
"""

from __future__ import annotations

import asyncio
import contextlib

import anyio.to_thread

from evidence.store import Batches, ObjectStore, StoreError
from evidence.store.batches import BATCH
from evidence.uploads.hashstate import Sha256


def _hash_batch(hasher: Sha256, batch: list[bytes]) -> None:
    for chunk in batch:
        hasher.update(chunk)  # OpenSSL (ctypes) or hashlib: the GIL is released while hashing


async def _hash_batches(hasher: Sha256, batches: Batches) -> None:
    async for batch in batches:
        await anyio.to_thread.run_sync(_hash_batch, hasher, batch)


class StreamedPart:
    """Part ``number`` of ``size`` bytes: ``head`` (re-read tail bytes, hashed before) and
    then the chunks of this PATCH as ``put`` receives them."""

    def __init__(
        self, *, store: ObjectStore, key: str, upload_id: str, number: int, head: bytes, size: int, hasher: Sha256 | None
    ) -> None:
        self.number = number
        self.size = size
        self.received: list[bytes] = []
        self.received_size = 0
        self._expected = size - len(head)
        self._to_store = Batches(BATCH)
        self._to_hash = Batches(BATCH)
        if head:
            self._to_store.put(head)
        self._stored = asyncio.ensure_future(store.stream_part(key, upload_id, number, self._to_store, size=size))
        self._hashed = asyncio.ensure_future(_hash_batches(hasher, self._to_hash)) if hasher is not None else None

    def put(self, chunk: bytes) -> None:
        if self._stored.done() and not self._stored.cancelled() and self._stored.exception() is not None:
            raise self._stored.exception()  # type: ignore[misc]  # the store failed: stop receiving for nothing
        self.received.append(chunk)
        self.received_size += len(chunk)
        self._to_store.put(chunk)
        if self._hashed is not None:
            self._to_hash.put(chunk)

    async def end(self) -> str | None:
        """Every received byte hashed; the ETag when the whole part was stored, None when the
        body ended short (nothing recorded). A store failure of a whole body propagates."""
        self._to_hash.close()
        if self._hashed is not None:
            await self._hashed
        whole = self.received_size == self._expected
        self._to_store.close(None if whole else StoreError(f"the body ended at {self.received_size} of {self._expected}"))
        if whole:
            return await self._stored
        with contextlib.suppress(Exception):
            await self._stored
        return None

    async def abandon(self) -> None:
        """Stop both consumers (the PATCH failed); nothing of this part is recorded."""
        error = StoreError("the chunk was abandoned")
        self._to_store.close(error)
        self._to_hash.close(error)
        for task in (self._stored, self._hashed):
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
