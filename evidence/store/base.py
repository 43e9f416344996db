"""The one object-store contract (R-REC-5, R-REC-6): both implementations pass one test suite.

Key namespaces: keys starting with ``staging/`` live in the staging area (a separate bucket
on S3, outside the object-locked evidence bucket; a separate directory on files). Every other
key is evidence (``sha256/<hex>`` for originals and derived objects): written once, never
overwritten, never deleted. Partial or unverified bytes never land outside ``staging/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

STAGING_PREFIX = "staging/"
# Streaming granularity for reads and file copies: bounded memory whatever the object size.
CHUNK_SIZE = 1024 * 1024


class ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    content_type: str = "application/octet-stream"
    etag: str = ""
    # Set by put_stream/complete_multipart: the SHA-256 computed while the bytes flowed.
    sha256: str | None = None
    retain_until: datetime | None = None
    legal_hold: bool = False


class UploadedPart(msgspec.Struct, frozen=True, kw_only=True):
    part_number: int
    etag: str


class IncompleteUpload(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    upload_id: str
    # Not trustworthy on every server (moto reports 2010): judge age from your own records.
    initiated_at: datetime | None = None


class StoreError(Exception):
    """The object store failed (I/O, network, server error)."""


class ObjectExistsError(StoreError):
    """An evidence key is written once; a second write is refused."""


class ObjectMissingError(StoreError):
    """The key does not exist."""


class NotStagedError(StoreError):
    """Only ``staging/`` keys may be deleted; evidence is never deleted (R-REC-6)."""


def is_staging(key: str) -> bool:
    return key.startswith(STAGING_PREFIX)


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in {"", ".", ".."} for p in parts) or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid object key {key!r}")
    return key


@runtime_checkable
class ObjectStore(Protocol):
    """Async object store. Implementations never hold a whole object in memory."""

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        """Stream bytes of unknown length to ``key``; the answer carries size and SHA-256.

        Nothing is visible under ``key`` unless every byte arrived; if ``chunks`` raises,
        the exception propagates and nothing is left behind. Raises ObjectExistsError for an
        existing evidence (non-staging) key.
        """
        ...

    async def stat(self, key: str) -> ObjectInfo | None: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, end)`` (end exclusive, None = to the end). ObjectMissingError if absent."""
        ...

    async def presigned_get(self, key: str, *, expires_s: int) -> str | None:
        """A time-limited download URL, or None when the store cannot make one (files)."""
        ...

    async def copy(self, src: str, dst: str) -> ObjectInfo:
        """Server-side copy (any size). ObjectExistsError if ``dst`` is an existing evidence key."""
        ...

    async def delete_staged(self, key: str) -> None:
        """Delete a ``staging/`` key (NotStagedError otherwise); a missing key is not an error."""
        ...

    async def set_retention(self, key: str, until: datetime) -> None: ...

    async def set_legal_hold(self, key: str, on: bool) -> None: ...

    # Multipart (used by resumable uploads; keys must be staging keys).
    async def create_multipart(self, key: str, *, content_type: str = "application/octet-stream") -> str: ...

    async def upload_part(self, key: str, upload_id: str, part_number: int, data: bytes | Path) -> str:
        """Upload one part (bytes, or a local file streamed from disk); returns its ETag.

        S3 rules apply to both stores: parts 1..10000, every part but the last ≥ 5 MiB.
        """
        ...

    async def complete_multipart(self, key: str, upload_id: str, parts: Sequence[UploadedPart]) -> ObjectInfo: ...

    async def abort_multipart(self, key: str, upload_id: str) -> None: ...

    async def list_incomplete_multipart(self) -> list[IncompleteUpload]: ...

    async def check(self) -> None:
        """Raise StoreError unless the store is reachable and writable (readiness)."""
        ...

    async def close(self) -> None: ...
