"""Problems of the evidence area (R-REC-5: what a capture is refused for), each with its own slug."""

from __future__ import annotations

from typing import ClassVar

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


class StoreUnavailableError(ProblemError):
    status: ClassVar[int] = 503
    slug: ClassVar[str] = "object-store-unavailable"
    title: ClassVar[str] = "The evidence store is unavailable; retry later"
