"""Domain errors. Each carries a stable problem ``type`` slug (RFC 9457).

Services raise these; the one mapper in ``backend.core.http.problems`` turns them into
``application/problem+json`` answers.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ProblemError(Exception):
    """Base of every error that reaches a client as a problem document."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class BadRequest(ProblemError):
    pass


class InvalidInput(ProblemError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class NotFound(ProblemError):
    """Also the answer for another agency's object: never 403, never data."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class TooManyRequests(ProblemError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class ServiceUnavailable(ProblemError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database does not answer (down, restarting, unreachable, full, or locked beyond
    its timeout); nothing was changed. Retry after ``retry_after`` seconds (also sent as
    Retry-After). Raised by no service: ``backend.core.http.problems`` answers it for the
    engine errors ``backend.core.db.is_unavailable`` recognises."""

    slug = "database-unavailable"
    title = "The database is unavailable; retry shortly"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "This state change is not allowed"


class DuplicateValue(Conflict):
    slug = "duplicate"
    title = "Already exists"


class IdempotencyKeyReused(InvalidInput):
    """The same Idempotency-Key came with a different request (``backend.core.http.idempotency``)."""

    slug = "idempotency-key-reused"
    title = "Idempotency-Key reused"


class RequestInProgress(Conflict):
    """A retry arrived while the first request with its Idempotency-Key is still running."""

    slug = "request-in-progress"
    title = "Request in progress"


class RequestNotValid(BadRequest):
    """Parameters or body failed the framework's validation; raised by no service, answered
    by ``backend.core.http.problems`` for Litestar's ValidationException (``errors`` lists each)."""

    slug = "validation-error"
    title = "Request is not valid"


class InvalidText(InvalidInput):
    """A string carries NUL, a control character or a lone surrogate (``backend.core.inputs``):
    PostgreSQL cannot store NUL, and no field of ours means a control character."""

    slug = "invalid-text"
    title = "Text contains characters that are not allowed"


class DateTimeOutOfRange(InvalidInput):
    """A date-time outside 1970–2200 once taken to UTC (``backend.core.inputs``)."""

    slug = "datetime-out-of-range"
    title = "Date and time out of range"


class JSONTooDeep(BadRequest):
    """A JSON body nested deeper than the input policy allows (``backend.core.inputs``)."""

    slug = "json-too-deep"
    title = "JSON nested too deeply"


class MalformedRequest(BadRequest):
    """The request's framing is broken (a Content-Length that is no single decimal number)."""

    slug = "malformed-request"
    title = "Malformed request"
