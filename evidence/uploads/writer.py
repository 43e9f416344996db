"""Cutting a PATCH body into multipart parts and tail pieces as it streams in."""

from __future__ import annotations

import asyncio
from typing import Any

from backend.core import clock
from evidence.store import ObjectStore
from evidence.uploads.locks import LOCK_LEASE_S, renew_lock
from evidence.uploads.state import PartRecord, TailPiece, UploadRow, tail_key
from evidence.uploads.tables import Upload


class PartWriter:
    """Cuts the streamed body into parts of exactly ``part_size`` bytes, uploading each while
    the next one is received (one in flight); what is left becomes a tail piece."""

    def __init__(self, *, row: UploadRow, store: ObjectStore, part_size: int, token: str) -> None:
        self.row = row
        self.store = store
        self.part_size = part_size
        self.token = token
        self.key: str = row.staging_key
        self.multipart_id: str | None = row.multipart_id
        self.parts: list[PartRecord] = list(row.parts)
        self._parts_before = len(self.parts)
        self.tail: list[TailPiece] = list(row.tail)
        self.tail_size = sum(p.size for p in self.tail)
        self.consumed_tail: list[TailPiece] = []
        self.buffer = bytearray()
        self._inflight: asyncio.Task[None] | None = None
        self._renewed = clock.now()

    @property
    def durable_parts_size(self) -> int:
        return sum(p.size for p in self.parts)

    async def feed(self) -> None:
        """Upload every full part the tail and buffer now hold."""
        while self.tail_size + len(self.buffer) >= self.part_size:
            size = self.part_size - self.tail_size  # what the buffer adds to the tail to fill a part
            head = await self._drain_tail()
            await self._send_part(self._take(size, head=head))
        if (clock.now() - self._renewed).total_seconds() > LOCK_LEASE_S / 3:
            self._renewed = clock.now()
            await renew_lock(self.row.id, self.token)

    def _take(self, size: int, *, head: bytes = b"") -> bytes | bytearray:
        if head:
            with memoryview(self.buffer) as view:
                payload: bytes | bytearray = head + view[:size]
            del self.buffer[:size]
            return payload
        # Hand the buffer itself over; only the (short) overflow is copied.
        payload, self.buffer = self.buffer, bytearray(memoryview(self.buffer)[size:])
        del payload[size:]
        return payload

    async def _drain_tail(self) -> bytes:
        """The tail pieces' bytes (< one part), read back once to join the next part."""
        if not self.tail:
            return b""
        blocks = [block for piece in self.tail async for block in self.store.read(piece.key)]
        self.consumed_tail.extend(self.tail)
        self.tail, self.tail_size = [], 0
        return b"".join(blocks)

    async def _send_part(self, payload: bytes | bytearray) -> None:
        await self.wait()
        if self.multipart_id is None:
            self.multipart_id = await self.store.create_multipart(self.key, content_type=self.row.filetype)
            # Persist at once: the sweeper aborts multipart uploads no row owns.
            await Upload.update({Upload.multipart_id: self.multipart_id}).where(
                (Upload.id == self.row.id) & (Upload.lock_token == self.token)
            )
        number = len(self.parts) + 1
        self._inflight = asyncio.ensure_future(self._upload(number, payload))

    async def _upload(self, number: int, payload: bytes | bytearray) -> None:
        assert self.multipart_id is not None
        etag = await self.store.upload_part(self.key, self.multipart_id, number, payload)
        self.parts.append(PartRecord(number=number, size=len(payload), etag=etag))

    async def wait(self) -> None:
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def finish(self, *, offset_after: int, complete: bool) -> None:
        """Make the remaining buffer durable: the last part when complete, else a tail piece."""
        await self.wait()
        if complete:
            rest = self._take(len(self.buffer), head=await self._drain_tail())
            if self.multipart_id is None and not self.parts:
                await self.store.put_stream(self.key, _once(rest), content_type=self.row.filetype)
            elif rest:
                await self._send_part(rest)
                await self.wait()
        elif self.tail_size + len(self.buffer) >= self.store.min_part_size:
            # Big enough to be a part (files: 1 MiB, S3: 5 MiB): no tail piece to write and read back.
            await self._send_part(self._take(len(self.buffer), head=await self._drain_tail()))
            await self.wait()
        elif self.buffer:
            start = offset_after - len(self.buffer)
            piece_key = tail_key(self.row.id, start)
            await self.store.put_stream(piece_key, _once(self._take(len(self.buffer))))
            self.tail.append(TailPiece(key=piece_key, offset=start, size=offset_after - start))
            self.tail_size += offset_after - start
        if not complete and self.multipart_id is not None and len(self.parts) > self._parts_before:
            await self.store.flush_multipart(self.key, self.multipart_id)  # durable before the offset moves


async def _once(data: bytes | bytearray) -> Any:
    yield data
