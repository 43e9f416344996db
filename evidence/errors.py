"""Problems of the evidence area (R-REC-5: what a capture is refused for), each with its own slug."""

from __future__ import annotations

from typing import Any, ClassVar

from backend.core.errors import InvalidInput, PayloadTooLarge, ProblemError, UnsupportedMediaType


class HashMismatch(InvalidInput):
    slug = "hash-mismatch"
    title = "The file does not match its declared SHA-256"


class DisallowedMediaType(UnsupportedMediaType):
    slug = "disallowed-media-type"
    title = "This file type is not accepted for this kind of evidence"


class UploadTooLarge(PayloadTooLarge):
    slug = "upload-too-large"
    title = "Too large for a direct upload"


# Seconds a client waits before retrying when the object store fails (a restarting MinIO is
# back within seconds; the upload keeps its durable offset meanwhile).
STORE_RETRY_AFTER_S = 5


class StoreUnavailableError(ProblemError):
    """The object store failed or is unreachable; nothing became evidence. Retry after
    ``retry_after`` seconds (also sent as Retry-After), like a database outage (issue 15.6)."""

    status: ClassVar[int] = 503
    slug: ClassVar[str] = "object-store-unavailable"
    title: ClassVar[str] = "The evidence store is unavailable; retry later"

    def __init__(self, detail: str, **extra: Any) -> None:
        extra.setdefault("retry_after", STORE_RETRY_AFTER_S)
        super().__init__(detail, **extra)
