"""Problems of the tus upload area, each with its own stable slug and tus status code."""

# Named after the problem they report, like backend.core.errors (NotFound, Conflict).

from __future__ import annotations

from backend.core.errors import Conflict, NotFound, PayloadTooLarge, ProblemError, UnsupportedMediaType


class InvalidTusHeader(ProblemError):
    slug = "invalid-tus-header"
    title = "A tus header is missing or malformed"


class InvalidUploadMetadata(ProblemError):
    slug = "invalid-upload-metadata"
    title = "Upload-Metadata is missing a field or has a malformed one"


class TusVersionUnsupported(ProblemError):
    """412 with ``Tus-Version`` (added by the tus header middleware)."""

    status = 412
    slug = "tus-version-unsupported"
    title = "Unsupported Tus-Resumable version"


class ChecksumAlgorithmUnsupported(ProblemError):
    slug = "checksum-algorithm-unsupported"
    title = "Unsupported Upload-Checksum algorithm"


class ChecksumMismatch(ProblemError):
    """tus checksum extension: 460, the chunk is discarded."""

    status = 460
    slug = "checksum-mismatch"
    title = "The chunk does not match its Upload-Checksum"


class NotOffsetOctetStream(UnsupportedMediaType):
    slug = "tus-content-type"
    title = "PATCH needs Content-Type: application/offset+octet-stream"


class UploadNotFound(NotFound):
    slug = "upload-not-found"
    title = "Upload not found"


class UploadGone(ProblemError):
    status = 410
    slug = "upload-expired"
    title = "The upload has expired or was terminated"


class OffsetMismatch(Conflict):
    slug = "upload-offset-mismatch"
    title = "Upload-Offset does not match the stored offset"


class UploadLocked(ProblemError):
    status = 423
    slug = "upload-locked"
    title = "Another request is writing to this upload"


class UploadFinished(Conflict):
    slug = "upload-finished"
    title = "The upload is already complete"


class UploadTooLarge(PayloadTooLarge):
    slug = "upload-too-large"
    title = "The upload exceeds the size allowed for its kind"


class UploadLengthExceeded(PayloadTooLarge):
    slug = "upload-length-exceeded"
    title = "The body goes beyond Upload-Length"


class ChunkTooLarge(PayloadTooLarge):
    slug = "upload-chunk-too-large"
    title = "The PATCH body exceeds the per-request chunk limit"


class OpenUploadLimit(ProblemError):
    status = 429
    slug = "open-upload-limit"
    title = "Too many unfinished uploads for this user"


class StagingQuotaExceeded(ProblemError):
    status = 507
    slug = "staging-quota-exceeded"
    title = "The staging area is full"


class UserUploadQuotaExceeded(ProblemError):
    """The caller's own unfinished uploads reserve too many bytes (``tus_user_quota``)."""

    status = 507
    slug = "upload-quota-exceeded"
    title = "Your unfinished uploads reserve too much space"


class DeclaredHashMismatch(ProblemError):
    """R-REC-5: the bytes received do not hash to the SHA-256 declared at creation."""

    status = 422
    slug = "upload-hash-mismatch"
    title = "The uploaded file does not match its declared SHA-256"


class MethodOverrideInvalid(ProblemError):
    status = 405
    slug = "method-override-invalid"
    title = "X-HTTP-Method-Override names no tus method of this URL"


class HashStateUnavailable(ProblemError):
    """An upload written at its content key needs its saved SHA-256 state, which this
    process cannot resume (another build): it never accepts bytes it could not verify."""

    status = 503
    slug = "hash-state-unavailable"
    title = "This server cannot continue the upload's SHA-256; retry"
