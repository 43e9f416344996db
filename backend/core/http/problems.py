"""The one builder of RFC 9457 problem+json answers, and the exception → problem mapper.

Every problem document comes from ``problem_document``: the exception handlers below, the
ASGI middlewares that answer before any route runs (``send_problem``: Idempotency-Key,
tus version) and the routes that return a problem with extra headers (``problem``). The
``title`` and ``detail`` follow the request's Accept-Language (zh-CN by default, en available,
named in Content-Language; details from the catalogue of ``backend.core.details``); the
``type`` slug never changes. A problem carrying ``retry_after``
(seconds) also sends ``Retry-After``; a database that cannot be reached is answered as
``DatabaseUnavailable`` (503), never as an internal error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Scope, Send

from backend.core import db
from backend.core.details import localised_detail
from backend.core.errors import DatabaseUnavailable, ProblemError, RequestNotValid
from backend.core.language import EN, localised_title, preferred_language

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("fieldproof.problems")

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    416: ("range-not-satisfiable", "Range not satisfiable"),
    422: ("invalid-input", "Invalid input"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}


def problem_document(status: int, slug: str, title: str, detail: str, *, language: str, **extra: Any) -> dict[str, Any]:
    """The problem body: ``title`` and ``detail`` in ``language`` (the details of listed
    conditions too, e.g. ``missing``), members whose value is None left out."""
    heading = localised_title(slug, title, language)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": heading,
        "status": status,
        "detail": localised_detail(detail, language, title=heading),
    }
    body.update({k: _localised_items(v, language, heading) for k, v in extra.items() if v is not None})
    return body


def _localised_items(value: Any, language: str, heading: str) -> Any:
    """A member listing conditions (dicts or Structs with a ``detail``): each detail localised."""
    if language == EN or not isinstance(value, list):
        return value
    items: list[Any] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("detail"), str):
            item = {**item, "detail": localised_detail(item["detail"], language, title=heading)}
        elif isinstance(item, msgspec.Struct) and isinstance(getattr(item, "detail", None), str):
            item = msgspec.structs.replace(item, detail=localised_detail(item.detail, language, title=heading))  # type: ignore[attr-defined]
        items.append(item)
    return items


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    language: str = EN,
    **extra: Any,
) -> Response[Any]:
    body = problem_document(status, slug, title, detail, language=language, **extra)
    headers = {**_retry_after(extra), **(headers or {}), "Content-Language": language}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _error_members(error: ProblemError, instance: str) -> dict[str, Any]:
    return {"field": error.field, "instance": instance, **error.extra}


def _retry_after(members: dict[str, Any]) -> dict[str, str]:
    """``retry_after`` (whole seconds) in the body is also the Retry-After header (RFC 9110)."""
    seconds = members.get("retry_after")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return {"Retry-After": str(max(0, math.ceil(seconds)))}
    return {}


def as_problem(exc: BaseException) -> ProblemError | None:
    """The problem a client gets for ``exc``: itself, ``DatabaseUnavailable`` for an engine
    error saying the database cannot be reached, or None (an internal error)."""
    if isinstance(exc, ProblemError):
        return exc
    if db.is_unavailable(exc):
        return DatabaseUnavailable("the database is not answering; retry shortly", retry_after=db.RETRY_AFTER_S)
    return None


async def send_problem(scope: Scope, send: Send, error: ProblemError, *, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Answer ``error`` straight from an ASGI middleware, as the exception handler would."""
    accept_language = dict(scope["headers"]).get(b"accept-language")
    language = preferred_language(None if accept_language is None else accept_language.decode("latin-1"))
    document = problem_document(
        error.status, error.slug, error.title, error.detail, language=language, **_error_members(error, scope["path"])
    )
    body = msgspec.json.encode(document)
    start_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"content-language", language.encode()),
        *((k.lower().encode(), v.encode()) for k, v in _retry_after(error.extra).items()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _language(request: Request[Any, Any, Any]) -> str:
    return preferred_language(request.headers.get("accept-language"))


def domain_error_handler(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Any]:
    return problem(
        exc.status, exc.slug, exc.title, exc.detail, language=_language(request), **_error_members(exc, request.url.path)
    )


def _validation_fields(extra: Any) -> list[dict[str, Any]]:
    if isinstance(extra, list):
        return [e for e in extra if isinstance(e, dict)]
    if isinstance(extra, dict):
        return [extra]
    return []


_FIELD_IN_MESSAGE = re.compile(r"(?:field `([^`]+)`|at `\$\.([\w.\[\]]+)`)")


def _field_name(error: dict[str, Any]) -> str | None:
    """msgspec reports body errors under key 'data'; name the field inside the body instead."""
    match = _FIELD_IN_MESSAGE.search(str(error.get("message", "")))
    if match:
        return match.group(1) or match.group(2)
    key = error.get("key")
    return str(key) if key else None


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    slug, title = _HTTP_SLUGS.get(status, ("http-error", "HTTP error"))
    detail = exc.detail or title
    errors = None
    field = None
    if isinstance(exc, ValidationException):
        status, slug, title = RequestNotValid.status, RequestNotValid.slug, RequestNotValid.title
        errors = _validation_fields(exc.extra)
        names = [_field_name(e) for e in errors]
        field = next((n for n in names if n), None)
        messages = "; ".join(f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors)
        detail = messages or detail
    if status == 500:
        # An HTTPException with 500 is still a server bug: never echo its message.
        detail = "An internal error occurred; it has been logged."
    return problem(
        status,
        slug,
        title,
        detail,
        headers=exc.headers,
        field=field,
        errors=errors,
        instance=request.url.path,
        language=_language(request),
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    known = as_problem(exc)
    if known is not None:
        log.warning("database.unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
        return domain_error_handler(request, known)
    log.exception("unhandled error", path=request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal-error",
        "Internal error",
        "An internal error occurred; it has been logged.",
        instance=request.url.path,
        language=_language(request),
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ProblemError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
