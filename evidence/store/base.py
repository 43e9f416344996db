"""The one object-store contract (R-REC-5, R-REC-6): both implementations pass one test suite.

Key namespaces: keys starting with ``staging/`` live in the staging area (a separate bucket
on S3, outside the object-locked evidence bucket; a separate directory on files). Every other
key is evidence (``sha256/<hex>`` for originals and derived objects): written once, never
overwritten, never deleted.

Partial or unverified bytes never become visible outside ``staging/``. The one way to write
an evidence key without a copy is a multipart upload created directly at its content key:
its parts are invisible until completion, and ``complete_multipart`` completes a content key
only when the caller states the SHA-256 it computed over exactly those parts and that hash
names the key; otherwise the caller aborts and nothing ever appears (R-REC-5, R-REC-6).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

from evidence.hashing import SHA256_HEX

STAGING_PREFIX = "staging/"
# A part's bytes: one buffer, a local file streamed from disk, or the chunks of a request
# body as they arrived (written without joining them: issue 16).
PartData = bytes | bytearray | Path | list[bytes]
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


class PendingObject(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes fully uploaded as a multipart upload at their content key, not visible yet.

    ``sha256`` is what the server computed while the bytes streamed (the key names the
    hash the phone declared); ``head`` holds the first bytes, so the type can be sniffed
    before anything is sealed.
    """

    key: str
    upload_id: str
    parts: tuple[UploadedPart, ...]
    size: int
    sha256: str
    head: bytes = b""


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


class UnverifiedError(StoreError):
    """A multipart upload at a content key may only be completed with the matching SHA-256."""


def is_staging(key: str) -> bool:
    return key.startswith(STAGING_PREFIX)


def content_hex(key: str) -> str | None:
    """The hex digest a content key (``sha256/<hex>``) names, or None for any other key."""
    prefix, _, rest = key.partition("/")
    return rest if prefix == "sha256" and SHA256_HEX.match(rest) else None


def check_multipart_key(key: str) -> str:
    """Multipart uploads go to staging keys or to content keys (sealed on verification)."""
    if not is_staging(check_key(key)) and content_hex(key) is None:
        raise NotStagedError(f"multipart uploads go to staging/ or sha256/<hex> keys, not {key!r}")
    return key


def check_completion(key: str, sha256: str | None) -> None:
    """A content key is completed only by a caller stating the hash it computed over the parts."""
    expected = content_hex(key)
    if expected is not None and sha256 != expected:
        raise UnverifiedError(f"{key} can only be completed with its own SHA-256, not {sha256!r}")


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

    # Multipart: staging keys, or content keys (``sha256/<hex>``, invisible until completed
    # with the matching hash). Parts are numbered 1..; every part but the last must be at
    # least ``min_part_size`` bytes (S3: 5 MiB); parts are uploaded in ascending order when
    # ``parallel_parts`` is 1 (files: one append-only file), up to that many at once otherwise.
    min_part_size: int
    parallel_parts: int
    # Preferred part size for streamed uploads, or None for the configured S3 part size.
    stream_part_size: int | None

    async def create_multipart(self, key: str, *, content_type: str = "application/octet-stream") -> str: ...

    async def upload_part(self, key: str, upload_id: str, part_number: int, data: PartData) -> str:
        """Upload one part (bytes, received chunks, or a local file streamed from disk); returns its ETag.

        Durable once ``flush_multipart`` returns (on S3 already when this returns).
        """
        ...

    async def stream_part(
        self, key: str, upload_id: str, part_number: int, batches: AsyncIterable[list[bytes]], *, size: int
    ) -> str:
        """Upload one part of exactly ``size`` bytes while they still arrive; returns its ETag.

        Each batch is written as it comes (files: one ``pwritev``; S3: the body of one
        UploadPart with an unsigned payload, so it is not hashed a second time). If
        ``batches`` raises or ends short, that exception (or StoreError) propagates and no
        part is recorded. Durable when it returns (no ``flush_multipart`` needed for it).
        """
        ...

    async def flush_multipart(self, key: str, upload_id: str) -> None:
        """Make every part uploaded so far durable (tus acknowledges bytes after this)."""
        ...

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[UploadedPart], *, sha256: str | None = None
    ) -> ObjectInfo:
        """Make the parts visible under ``key``.

        For a content key, ``sha256`` must be the hash the caller computed over exactly these
        parts and must equal the key's (UnverifiedError, nothing completed). An existing
        content key is never given a second version: ObjectExistsError, and the upload is
        aborted. ObjectMissingError when the upload no longer exists (completed or aborted).
        """
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None: ...

    async def list_incomplete_multipart(self) -> list[IncompleteUpload]: ...

    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every visible object's key starting with ``prefix`` (staging and evidence), sorted.

        Pending multipart uploads are not objects (``list_incomplete_multipart``). Used by
        ``fieldproof reconcile`` (evidence/custody/reconcile.py) to find objects without rows.
        """
        ...

    async def check(self) -> None:
        """Raise StoreError unless the store is reachable and writable (readiness)."""
        ...

    async def close(self) -> None: ...
