"""Object storage for evidence: one protocol, a filesystem and an S3/MinIO implementation."""

from __future__ import annotations

from pathlib import Path

from backend.core.settings import Settings
from evidence.store.base import (
    CHUNK_SIZE,
    STAGING_PREFIX,
    IncompleteUpload,
    NotStagedError,
    ObjectExistsError,
    ObjectInfo,
    ObjectMissingError,
    ObjectStore,
    PendingObject,
    StoreError,
    UnverifiedError,
    UploadedPart,
    content_hex,
    is_staging,
)
from evidence.store.batches import Batches
from evidence.store.filesystem import FilesystemStore
from evidence.store.pending import HEAD_BYTES, abort_quietly, stream_to_content_key
from evidence.store.s3 import S3Store


def open_store(settings: Settings) -> ObjectStore:
    """The store named by ``FIELDPROOF_STORE_URL``: ``file://path`` or ``http(s)://host:port``."""
    url = settings.effective_store_url
    if url.startswith("file://"):
        return FilesystemStore(Path(url[len("file://") :]))
    return S3Store(
        endpoint=url,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        bucket=settings.s3_bucket,
        staging_bucket=settings.s3_staging_bucket,
        region=settings.s3_region,
        part_size=settings.s3_part_size,
    )


__all__ = [
    "CHUNK_SIZE",
    "HEAD_BYTES",
    "STAGING_PREFIX",
    "Batches",
    "FilesystemStore",
    "IncompleteUpload",
    "NotStagedError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectMissingError",
    "ObjectStore",
    "PendingObject",
    "S3Store",
    "StoreError",
    "UnverifiedError",
    "UploadedPart",
    "abort_quietly",
    "content_hex",
    "is_staging",
    "open_store",
    "stream_to_content_key",
]
