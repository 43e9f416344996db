"""tus 1.0.0 header grammar: pure parsing and formatting, no I/O.

Protocol text: https://tus.io/protocols/resumable-upload (core, creation,
creation-with-upload, expiration, checksum, termination).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from email.utils import format_datetime

from evidence.uploads.errors import (
    ChecksumAlgorithmUnsupported,
    InvalidTusHeader,
    InvalidUploadMetadata,
    TusVersionUnsupported,
)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "creation-with-upload", "expiration", "checksum", "termination")
OFFSET_STREAM = "application/offset+octet-stream"
# sha1 is the checksum extension's mandatory algorithm; tuspy sends only sha1.
CHECKSUM_ALGORITHMS = {"sha1": 20, "sha256": 32, "md5": 16}
EXPOSED_HEADERS = (
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Upload-Metadata",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Fieldproof-Evidence-Id",
)
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_METADATA_KEY = re.compile(r"^[\x21-\x2b\x2d-\x7e]+$")  # printable ASCII without space and comma
_MAX_METADATA = 8192


def check_tus_resumable(value: str | None) -> None:
    """Every request except OPTIONS carries Tus-Resumable: 1.0.0, else 412."""
    if value is None:
        raise TusVersionUnsupported("send Tus-Resumable: 1.0.0", field="Tus-Resumable")
    if value.strip() != TUS_VERSION:
        raise TusVersionUnsupported(
            f"Tus-Resumable {value[:20]!r} is not supported; this server speaks {TUS_VERSION}", field="Tus-Resumable"
        )


def parse_non_negative(value: str | None, *, header: str) -> int:
    """Upload-Length / Upload-Offset: a non-negative decimal integer, nothing else."""
    if value is None:
        raise InvalidTusHeader(f"{header} is required", field=header)
    text = value.strip()
    if not _DIGITS.match(text):
        raise InvalidTusHeader(f"{header} must be a non-negative integer, got {value[:40]!r}", field=header)
    return int(text)


def parse_upload_metadata(value: str | None) -> dict[str, bytes]:
    """``key base64,key2 base64,key3``: keys unique ASCII without space/comma; values base64.

    A key without a value (the space may be left out) has the empty value.
    """
    if value is None or not value.strip():
        return {}
    if len(value) > _MAX_METADATA:
        raise InvalidUploadMetadata(f"Upload-Metadata is longer than {_MAX_METADATA} characters", field="Upload-Metadata")
    pairs: dict[str, bytes] = {}
    for raw_pair in value.split(","):
        parts = raw_pair.strip().split(" ")
        if len(parts) > 2 or not parts[0]:
            raise InvalidUploadMetadata(f"malformed Upload-Metadata pair {raw_pair.strip()[:40]!r}", field="Upload-Metadata")
        key = parts[0]
        if not _METADATA_KEY.match(key):
            raise InvalidUploadMetadata(f"Upload-Metadata key {key[:40]!r} has characters outside printable ASCII", field=key)
        if key in pairs:
            raise InvalidUploadMetadata(f"Upload-Metadata key {key!r} appears twice", field=key)
        pairs[key] = _b64decode(parts[1], field=key) if len(parts) == 2 else b""
    return pairs


def encode_upload_metadata(values: dict[str, bytes]) -> str:
    return ",".join(f"{key} {base64.b64encode(raw).decode('ascii')}" if raw else key for key, raw in values.items())


def _b64decode(text: str, *, field: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidUploadMetadata(f"Upload-Metadata value of {field!r} is not valid base64", field=field) from None


def parse_upload_checksum(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; unknown algorithm → 400."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InvalidTusHeader("Upload-Checksum must be '<algorithm> <base64 digest>'", field="Upload-Checksum")
    algorithm = parts[0].lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ChecksumAlgorithmUnsupported(
            f"Upload-Checksum algorithm {parts[0][:20]!r} is not supported (use one of {', '.join(CHECKSUM_ALGORITHMS)})",
            field="Upload-Checksum",
        )
    try:
        digest = base64.b64decode(parts[1].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidTusHeader("Upload-Checksum digest is not valid base64", field="Upload-Checksum") from None
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]:
        size = CHECKSUM_ALGORITHMS[algorithm]
        raise InvalidTusHeader(f"Upload-Checksum {algorithm} digest must be {size} bytes", field="Upload-Checksum")
    return algorithm, digest


class ChunkChecksum:
    """The per-PATCH checksum: covers only this request's body, computed in the same pass."""

    def __init__(self, algorithm: str, expected: bytes) -> None:
        self.algorithm = algorithm
        self.expected = expected
        self._hash = hashlib.new(algorithm, usedforsecurity=False)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def matches(self) -> bool:
        return self._hash.digest() == self.expected


def http_date(moment: datetime) -> str:
    """Upload-Expires uses the RFC 9110 IMF-fixdate format."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def is_offset_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == OFFSET_STREAM
