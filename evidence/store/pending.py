"""Streaming a body straight to its content key as a multipart upload, hashed on the way.

The parts stay invisible until the caller completes the upload, which it does only when
the computed SHA-256 equals the declared one (the key); otherwise it aborts and nothing was
ever visible (R-REC-5, R-REC-6). No staging copy and no server-side copy: every byte is
received once, hashed once and written once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

import anyio
import structlog

from evidence.hashing import StreamDigest
from evidence.store.base import ObjectStore, PendingObject, StoreError, UploadedPart
from evidence.store.batches import BATCH, Batches

log = structlog.get_logger("fieldproof.evidence.store")

# The first bytes are kept for type sniffing before sealing (evidence.media.SNIFF_BYTES).
HEAD_BYTES = 64


class _Parts:
    """Uploads parts with at most ``store.parallel_parts`` in flight (bounded memory)."""

    def __init__(self, store: ObjectStore, key: str, upload_id: str) -> None:
        self.store = store
        self.key = key
        self.upload_id = upload_id
        self.done: list[UploadedPart] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max(1, store.parallel_parts))

    async def send(self, number: int, payload: bytearray) -> None:
        await self._slots.acquire()
        self._raise_failed()
        task = asyncio.ensure_future(self._upload(number, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _upload(self, number: int, payload: bytearray) -> None:
        try:
            etag = await self.store.upload_part(self.key, self.upload_id, number, payload)
            self.done.append(UploadedPart(part_number=number, etag=etag))
        finally:
            self._slots.release()

    def _raise_failed(self) -> None:
        for task in list(self._tasks):
            if task.done() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def drain(self) -> list[UploadedPart]:
        if self._tasks:
            await asyncio.gather(*self._tasks)
        return sorted(self.done, key=lambda p: p.part_number)

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def abort_quietly(store: ObjectStore, key: str, upload_id: str, *, attempts: int = 6) -> bool:
    """Abort with backoff (the store may be failing right now); True once it is gone.

    A failure is logged, never raised: the caller's own error matters more, and the store
    still lists the upload for the sweeper.
    """
    for attempt in range(attempts):
        try:
            await store.abort_multipart(key, upload_id)
            return True
        except StoreError as exc:
            if attempt == attempts - 1:
                log.warning("evidence.abort_failed", key=key, upload_id=upload_id, error=str(exc))
                return False
            await anyio.sleep(0.1 * 2**attempt)
    return False


class _StreamedParts:
    """Parts of a body of declared ``size``, each sent while its bytes arrive (issue 16): no
    part is held whole and the S3 payload is not hashed a second time (``stream_part``).
    At most ``store.parallel_parts`` in flight; the file store takes them one after another."""

    def __init__(self, store: ObjectStore, key: str, upload_id: str, *, size: int, part_size: int) -> None:
        self.store, self.key, self.upload_id = store, key, upload_id
        self.size, self.part_size = size, part_size
        self.sent = 0
        self._left = 0
        self._open: Batches | None = None
        self._tasks: list[asyncio.Task[UploadedPart]] = []
        self._slots = asyncio.Semaphore(max(1, store.parallel_parts))

    async def put(self, chunk: bytes) -> None:
        while chunk:
            if self._left == 0:
                await self._start()
            assert self._open is not None
            piece, chunk = (chunk[: self._left], chunk[self._left :]) if len(chunk) > self._left else (chunk, b"")
            self._open.put(piece)
            self._left -= len(piece)
            self.sent += len(piece)
            if self._left == 0:
                self._open.close()

    async def _start(self) -> None:
        if self.sent >= self.size:
            raise StoreError(f"the body is longer than its declared {self.size} bytes")
        await self._slots.acquire()
        for task in self._tasks:
            if task.done() and task.exception() is not None:
                self._slots.release()
                raise task.exception()  # type: ignore[misc]
        number = len(self._tasks) + 1
        self._left = min(self.part_size, self.size - self.sent)
        self._open = Batches(BATCH)
        self._tasks.append(asyncio.ensure_future(self._part(number, self._open, self._left)))

    async def _part(self, number: int, batches: Batches, size: int) -> UploadedPart:
        try:
            etag = await self.store.stream_part(self.key, self.upload_id, number, batches, size=size)
            return UploadedPart(part_number=number, etag=etag)
        finally:
            self._slots.release()

    async def drain(self) -> list[UploadedPart]:
        if self.sent != self.size:
            raise StoreError(f"the body ended at {self.sent} of its declared {self.size} bytes")
        return list(await asyncio.gather(*self._tasks))

    async def cancel(self) -> None:
        if self._open is not None:
            self._open.close(StoreError("the body was abandoned"))
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def stream_to_content_key(
    store: ObjectStore,
    key: str,
    chunks: AsyncIterable[bytes],
    *,
    part_size: int,
    content_type: str,
    size: int | None = None,
) -> PendingObject:
    """Upload ``chunks`` as an open multipart upload at ``key``; the caller completes or aborts.

    With the body's declared ``size`` each part is sent while it arrives (``_StreamedParts``);
    without it, parts are collected and sent whole. If ``chunks`` or the store fails (or the
    task is cancelled), the upload is aborted and the exception propagates: nothing is left
    behind.
    """
    part_size = store.stream_part_size or part_size
    upload_id = await store.create_multipart(key, content_type=content_type)
    if size:
        return await _stream_declared(store, key, upload_id, chunks, size=size, part_size=part_size)
    parts = _Parts(store, key, upload_id)
    digest = StreamDigest()
    head = bytearray()
    buffer = bytearray()
    number = 0
    try:
        async for chunk in chunks:
            digest.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            buffer += chunk
            if len(buffer) >= part_size:
                # Hand the filled buffer over as it is; only the overflow is copied.
                payload, buffer = buffer, bytearray(memoryview(buffer)[part_size:])
                del payload[part_size:]
                number += 1
                await parts.send(number, payload)
        if buffer or number == 0:
            number += 1
            await parts.send(number, buffer)
        uploaded = await parts.drain()
    except BaseException:
        await parts.cancel()
        with anyio.CancelScope(shield=True):
            await abort_quietly(store, key, upload_id)
        raise
    return PendingObject(
        key=key, upload_id=upload_id, parts=tuple(uploaded), size=digest.size, sha256=digest.hexdigest, head=bytes(head)
    )


async def _stream_declared(
    store: ObjectStore, key: str, upload_id: str, chunks: AsyncIterable[bytes], *, size: int, part_size: int
) -> PendingObject:
    parts = _StreamedParts(store, key, upload_id, size=size, part_size=part_size)
    digest = StreamDigest()
    head = bytearray()
    try:
        async for chunk in chunks:
            digest.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            await parts.put(chunk)
        uploaded = await parts.drain()
    except BaseException:
        await parts.cancel()
        with anyio.CancelScope(shield=True):
            await abort_quietly(store, key, upload_id)
        raise
    return PendingObject(
        key=key, upload_id=upload_id, parts=tuple(uploaded), size=digest.size, sha256=digest.hexdigest, head=bytes(head)
    )


__all__ = ["HEAD_BYTES", "abort_quietly", "stream_to_content_key"]
