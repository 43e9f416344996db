"""How a route documents the problems it answers in the OpenAPI document.

Every route passes ``responses=problems(...)`` with the problem classes it can answer: the
``backend.core.errors`` kinds and its area's own subclasses, as the services it calls raise
them. Per status code the document then shows ``application/problem+json`` with the one
Problem schema, the problem types in the description and one example per type, so the
document names the slugs a client can branch on instead of the framework's exceptions.
Every route also documents ``EVERY_ROUTE`` (a database that cannot be reached: 503), added
by ``problems`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Annotated

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from backend.core.errors import (
    DatabaseUnavailable,
    DateTimeOutOfRange,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidText,
    JSONTooDeep,
    MalformedRequest,
    PayloadTooLarge,
    ProblemError,
    RequestInProgress,
    RequestNotValid,
    Unauthorized,
    UnsupportedMediaType,
)
from backend.core.http.problems import PROBLEM_JSON


class FieldError(msgspec.Struct, kw_only=True):
    """One failed check of the request's parameters or body (``validation-error`` only)."""

    message: str
    key: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem document, as ``backend.core.http.problems`` writes every error.

    A problem type may add members of its own (e.g. ``missing``, ``retry_after``, ``size``).
    """

    type: Annotated[str, msgspec.Meta(description="`/problems/<slug>`; the slug never changes with language")]
    title: Annotated[str, msgspec.Meta(description="In the language of Accept-Language (zh-CN by default, en)")]
    status: int
    detail: str
    instance: str | None = None
    field: Annotated[str | None, msgspec.Meta(description="The parameter, header or body field at fault")] = None
    errors: list[FieldError] | None = None
    retry_after: Annotated[
        int | None, msgspec.Meta(description="Seconds to wait before retrying; also sent as the Retry-After header")
    ] = None


EVERY_ROUTE: tuple[type[ProblemError], ...] = (DatabaseUnavailable, InvalidText, MalformedRequest)
"""Any route may meet a database that does not answer (``backend.core.http.problems``), and the
input policy (``backend.core.http.input``) checks every request's query, path, headers and
framing; ``problems`` adds these to every route's responses."""

SIGNED_IN: tuple[type[ProblemError], ...] = (Unauthorized,)
"""Every route behind the ``principal`` dependency (missing, expired or revoked token)."""

WITH_INPUT: tuple[type[ProblemError], ...] = (
    RequestNotValid,
    DateTimeOutOfRange,
    JSONTooDeep,
    UnsupportedMediaType,
    PayloadTooLarge,
)
"""Every route with parameters or a body (the framework's validation and the input policy's
rules for JSON bodies: depth, size, media type, date-time range)."""

PHONE_WRITE: tuple[type[ProblemError], ...] = (InvalidInput, IdempotencyKeyReused, RequestInProgress)
"""Every POST/PUT/PATCH/DELETE under /api/mobile/ (``backend.core.http.idempotency``)."""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # tus's 460 is no IANA status
        return f"HTTP {status}"


def _example(error: type[ProblemError]) -> Example:
    value = {"type": f"/problems/{error.slug}", "title": error.title, "status": error.status, "detail": error.title}
    description = (error.__doc__ or "").strip() or None
    return Example(id=error.slug, summary=error.title, description=description, value=value)


def problems(*errors: type[ProblemError] | Iterable[type[ProblemError]]) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a route answering ``errors`` (classes or groups of classes).

    A status lists each problem type once (two classes sharing a slug are one type).
    """
    by_status: dict[int, dict[str, type[ProblemError]]] = {}
    for item in (*errors, EVERY_ROUTE):
        for error in (item,) if isinstance(item, type) else item:
            by_status.setdefault(error.status, {}).setdefault(error.slug, error)
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            description=f"{_phrase(status)}: " + ", ".join(f"`{slug}`" for slug in sorted(kinds)),
            examples=[_example(kinds[slug]) for slug in sorted(kinds)],
        )
        for status, kinds in sorted(by_status.items())
    }
