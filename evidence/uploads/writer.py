"""Cutting a PATCH body into multipart parts and tail pieces as it streams in.

The received chunks are never copied into a buffer: a part is the list of chunks as they
arrived (the file store writes them with one ``pwritev``; S3 joins them once), cut at the
first chunk boundary past ``part_size``. The whole-file SHA-256 (R-REC-5) is carried on in
a worker thread over each part while the store writes it, so the event loop only receives
(issue 16: hashing and buffer copies were a third of the server's CPU per chunk).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio.to_thread

from evidence.store import ObjectStore
from evidence.uploads.hashstate import Sha256
from evidence.uploads.locks import LOCK_LEASE_S, renew_lock
from evidence.uploads.state import PartRecord, TailPiece, UploadRow, tail_key
from evidence.uploads.streamed import StreamedPart
from evidence.uploads.tables import Upload


def _hash_all(hasher: Sha256, chunks: list[bytes]) -> None:
    for chunk in chunks:
        hasher.update(chunk)  # OpenSSL through ctypes / hashlib: the GIL is released


class PartWriter:
    """Cuts the streamed body into parts of at least ``part_size`` bytes, uploading (and
    hashing) each while the next one is received (one in flight); what is left becomes a
    tail piece, or a short part when it is big enough."""

    def __init__(self, *, row: UploadRow, store: ObjectStore, part_size: int, token: str, hasher: Sha256 | None) -> None:
        self.row = row
        self.store = store
        self.part_size = part_size
        self.token = token
        self.hasher = hasher
        self.key: str = row.staging_key
        self.multipart_id: str | None = row.multipart_id
        self.parts: list[PartRecord] = list(row.parts)
        self.tail: list[TailPiece] = list(row.tail)
        self.tail_size = sum(p.size for p in self.tail)
        self.consumed_tail: list[TailPiece] = []
        self.pending: list[bytes] = []
        self.pending_size = 0
        self._inflight: asyncio.Future[Any] | None = None
        self._renew_at = time.monotonic() + LOCK_LEASE_S / 3
        self.streamed: StreamedPart | None = None
        self._streamed_tail: list[TailPiece] = []
        self._hashed_all = False  # a short streamed part already hashed what arrived
        self._buffered_parts = 0

    async def stream(self, body_size: int) -> None:
        """Send the tail and the next ``body_size`` bytes as one part while they arrive."""
        pieces = list(self.tail)
        head = await self._drain_tail()
        await self._ensure_multipart()
        self._streamed_tail = pieces
        self.streamed = StreamedPart(
            store=self.store,
            key=self.key,
            upload_id=self.multipart_id,  # type: ignore[arg-type]  # just ensured
            number=len(self.parts) + 1,
            head=head,
            size=len(head) + body_size,
            hasher=self.hasher,
        )

    async def feed(self, chunk: bytes) -> None:
        """Take one received chunk; upload a part once the tail and the pending chunks fill one."""
        if self.streamed is not None:
            self.streamed.put(chunk)
        else:
            self.pending.append(chunk)
            self.pending_size += len(chunk)
            if self.tail_size + self.pending_size >= self.part_size:
                await self._send_part(*await self._take_all())
        if time.monotonic() > self._renew_at:
            self._renew_at = time.monotonic() + LOCK_LEASE_S / 3
            await renew_lock(self.row.id, self.token)

    async def _take_all(self) -> tuple[list[bytes], list[bytes]]:
        """(what to write, what to hash): the tail's bytes (read back once, < one part, hashed
        by the PATCH that received them) followed by every pending chunk."""
        head = await self._drain_tail()
        fresh, self.pending, self.pending_size = self.pending, [], 0
        return ([head, *fresh] if head else fresh), fresh

    async def _drain_tail(self) -> bytes:
        if not self.tail:
            return b""
        blocks = [block for piece in self.tail async for block in self.store.read(piece.key)]
        self.consumed_tail.extend(self.tail)
        self.tail, self.tail_size = [], 0
        return b"".join(blocks)

    async def _send_part(self, chunks: list[bytes], fresh: list[bytes]) -> None:
        await self.wait()
        await self._ensure_multipart()
        number = len(self.parts) + 1
        self._inflight = asyncio.ensure_future(self._upload(number, chunks, fresh))

    async def _ensure_multipart(self) -> None:
        if self.multipart_id is None:
            self.multipart_id = await self.store.create_multipart(self.key, content_type=self.row.filetype)
            # Persist at once: the sweeper aborts multipart uploads no row owns.
            await Upload.update({Upload.multipart_id: self.multipart_id}).where(
                (Upload.id == self.row.id) & (Upload.lock_token == self.token)
            )

    async def _upload(self, number: int, chunks: list[bytes], fresh: list[bytes]) -> None:
        assert self.multipart_id is not None
        size = sum(len(c) for c in chunks)
        hashing = self._hash(fresh)
        try:
            etag = await self.store.upload_part(self.key, self.multipart_id, number, chunks)
        finally:
            await hashing  # the hash must never run ahead of, or behind, the bytes it covers
        self.parts.append(PartRecord(number=number, size=size, etag=etag))
        self._buffered_parts += 1  # durable once flushed (a streamed part is when stored)

    def _hash(self, chunks: list[bytes]) -> asyncio.Future[None]:
        if self.hasher is None or not chunks or self._hashed_all:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return asyncio.ensure_future(anyio.to_thread.run_sync(_hash_all, self.hasher, chunks))

    async def wait(self) -> None:
        """Wait for the part in flight (the PATCH failed: abandon a streamed part)."""
        if self.streamed is not None:
            part, self.streamed = self.streamed, None
            await part.abandon()
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def finish(self, *, offset_after: int, complete: bool) -> None:
        """Make the rest durable: the last part when complete, else a short part or a tail
        piece; then one flush (files: one fsync) before the offset may move."""
        if self.streamed is not None:
            await self._end_stream()
        await self.wait()
        if complete:
            rest, fresh = await self._take_all()
            if self.multipart_id is None and not self.parts:
                await self._hash(fresh)
                await self.store.put_stream(self.key, _chunks(rest), content_type=self.row.filetype)
            elif rest:
                await self._send_part(rest, fresh)
                await self.wait()
        elif self.tail_size + self.pending_size >= self.store.min_part_size:
            # Big enough to be a part (files: 1 MiB, S3: 5 MiB): no tail piece to write and read back.
            await self._send_part(*await self._take_all())
            await self.wait()
        elif self.pending:
            chunks, self.pending, self.pending_size = self.pending, [], 0
            size = sum(len(c) for c in chunks)
            start = offset_after - size
            piece_key = tail_key(self.row.id, start)
            await self._hash(chunks)
            await self.store.put_stream(piece_key, _chunks(chunks))
            self.tail.append(TailPiece(key=piece_key, offset=start, size=size))
            self.tail_size += size
        if not complete and self.multipart_id is not None and self._buffered_parts:
            await self.store.flush_multipart(self.key, self.multipart_id)  # durable before the offset moves

    async def _end_stream(self) -> None:
        part, self.streamed = self.streamed, None
        assert part is not None
        etag = await part.end()
        if etag is not None:
            self.parts.append(PartRecord(number=part.number, size=part.size, etag=etag))
            return
        # The body ended short: nothing of the part was recorded. Its bytes are hashed; they
        # take the buffered path below, and the tail pieces it began with are the tail again.
        self._hashed_all = True
        self.tail = self._streamed_tail
        self.tail_size = sum(p.size for p in self.tail)
        self.consumed_tail = [p for p in self.consumed_tail if p not in self.tail]
        self.pending, self.pending_size = part.received, part.received_size


async def _chunks(chunks: list[bytes]) -> Any:
    for chunk in chunks:
        yield chunk
