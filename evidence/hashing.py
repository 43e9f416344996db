"""SHA-256 computed once, while the bytes stream through (R-REC-5)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class SizeLimitError(Exception):
    """The stream carried more bytes than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class StreamDigest:
    """Running SHA-256 and byte count of everything fed to it."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def content_key(sha256_hex: str) -> str:
    """The content-addressed key of an evidence object: identical bytes, one object."""
    if not SHA256_HEX.match(sha256_hex):
        raise ValueError(f"not a lower-case SHA-256 hex digest: {sha256_hex!r}")
    return f"sha256/{sha256_hex}"


def normalise_sha256(value: str) -> str:
    """Accept upper- or lower-case hex from phones; reject anything else."""
    lowered = value.strip().lower()
    if not SHA256_HEX.match(lowered):
        raise ValueError("expected 64 hexadecimal characters")
    return lowered


async def limit_size(chunks: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass chunks through; raise SizeLimitError as soon as the total passes ``limit``."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise SizeLimitError(limit)
        yield chunk


async def rechunk(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """Coalesce small chunks into blocks of ``size`` bytes (the last may be shorter).

    Writes and worker-thread hops then happen per block, not per network packet.
    """
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
