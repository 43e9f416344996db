"""The input policy at the door: every request is held to ``backend.core.inputs`` before its route runs.

Why an ASGI middleware (wired once in ``backend/app.py``) rather than a msgspec ``dec_hook``
or a Litestar hook: msgspec decodes datetimes natively (no hook sees them), a RecursionError
in Litestar's body decoding is a 500 before any hook runs, and query, path and header values
never pass through a body decoder at all. Litestar builds the middleware stack per route,
so ``scope["route_handler"]`` tells which routes take a JSON body: only those have their
body buffered (up to the route's limit), decoded once here, checked, and replayed to
Litestar, which decodes it into the route's Struct as before. Raw-body routes (evidence,
tus chunks) stream untouched; their parameters and headers are still checked.

Answers are problem+json: 400 ``malformed-request`` (Content-Length), 415 (a JSON route
called with another media type), 413 (over the route's body limit), 400 ``json-too-deep``,
422 ``invalid-text`` / ``datetime-out-of-range`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import RequestEncodingType, ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import (
    InvalidText,
    JSONTooDeep,
    MalformedRequest,
    PayloadTooLarge,
    ProblemError,
    RequestNotValid,
    UnsupportedMediaType,
)
from backend.core.http.problems import send_problem
from backend.core.inputs import check_line, check_text, check_tree

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Header values are bytes: UTF-8 text in them has bytes 0x80-0x9f, so only C0 and DEL are refused
# (servers refuse CR, LF and NUL already; the rest would reach a column or a log line).
_BAD_IN_HEADER = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def _json_route(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    data = getattr(handler, "parsed_data_field", None)
    if data is None:
        return False
    kwarg = getattr(data, "kwarg_definition", None)
    media_type = getattr(kwarg, "media_type", RequestEncodingType.JSON)
    return bool(media_type == RequestEncodingType.JSON)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _check_framing(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The declared length: one decimal number, or a 400 problem (most servers refuse worse first)."""
    values = {value.strip() for name, value in headers if name == b"content-length"}
    if not values:
        return None
    if len(values) > 1 or not all(v.isdigit() for v in values) or len(next(iter(values))) > 19:
        raise MalformedRequest("Content-Length must be one non-negative decimal number", field="Content-Length")
    return int(next(iter(values)))


def _check_parameters(scope: Scope) -> None:
    for header_name, header_value in scope["headers"]:
        found = _BAD_IN_HEADER.search(header_value)
        if found is not None:
            header = header_name.decode("latin-1")
            detail = f"header {header} contains byte 0x{found.group()[0]:02X}; control characters are not allowed"
            raise InvalidText(detail, field=header)
    check_text(scope["path"], field="path")
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, str):
            check_line(value, field=name)
    query = scope.get("query_string", b"").decode("utf-8", errors="surrogateescape")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
        check_text(name, field=name[:40])
        check_line(value, field=name)


async def _read_body(receive: Receive, limit: int | None) -> bytes | None:
    """The whole body, or None when the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"a JSON body here is at most {limit} bytes", limit=limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect as the server would

    return replay


def _check_json(body: bytes, scope: Scope) -> None:
    try:
        document = msgspec.json.decode(body)
    except RecursionError:
        raise JSONTooDeep("JSON is nested too deeply to be read") from None
    except msgspec.DecodeError:
        return  # not JSON at all: the route's decoder answers its usual 400
    check_tree(document)
    _check_types(document, scope)


def _integral(value: Any) -> Any:
    """JSON Schema's integer is any number without a fraction: ``27.0`` is one (the depth is
    bounded already, by ``check_tree``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


def _check_types(document: Any, scope: Scope) -> None:
    """The body holds the types its schema documents, as JSON writes them (issue 15, point 8).

    Litestar converts a route's arguments leniently (``strict=False``: query strings become
    numbers), the body with them, so ``0`` passed for a date-time (the epoch) or a boolean
    (false) and ``"86"`` for a number. A body is JSON, typed already: it is held here to the
    route's type strictly — a date-time, date or UUID still comes as its string — and refused
    with the 400 ``validation-error`` Litestar itself answers, naming the field."""
    data = getattr(scope.get("route_handler"), "parsed_data_field", None)
    annotation = getattr(data, "annotation", None)
    if annotation is None:
        return
    try:
        msgspec.convert(_integral(document), annotation, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = message.rpartition(" - at `$.")
        key = at[2].rstrip("`") if at[1] else "data"
        named = _NAMED_FIELD.search(message)  # "unknown field `x`": the field is x, as Litestar says
        field = named.group(1) if named else (key if at[1] else None)
        errors = [{"message": at[0] if at[1] else message, "key": key, "source": "body"}]
        raise RequestNotValid(f"{key}: {errors[0]['message']}", field=field, errors=errors) from None
    except Exception:  # noqa: BLE001 - a type only Litestar's own hooks convert: it decides, as before
        return


async def _checked_body(scope: Scope, receive: Receive, declared: int | None) -> Receive | None:
    handler = scope.get("route_handler")
    limit = handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
    if limit is not None and declared is not None and declared > limit:
        raise PayloadTooLarge(f"a JSON body here is at most {limit} bytes", limit=limit)
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
    if content_type and not _is_json(content_type):
        raise UnsupportedMediaType(
            f"this route takes application/json, not {content_type.split(';', 1)[0][:60]}", field="Content-Type"
        )
    body = await _read_body(receive, limit)
    if body is None:
        return None
    if body.strip():
        if not content_type:
            raise UnsupportedMediaType("send the JSON body with Content-Type: application/json", field="Content-Type")
        _check_json(body, scope)
    return _replay(body, receive)


def input_policy_middleware(app: ASGIApp) -> ASGIApp:
    """Every HTTP request: framing, parameters and headers, and JSON bodies, before the route."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        try:
            declared = _check_framing(scope["headers"])
            _check_parameters(scope)
            if scope.get("method") in _BODY_METHODS and _json_route(scope):
                checked = await _checked_body(scope, receive, declared)
                if checked is None:
                    return  # the client is gone: nobody to answer
                receive = checked
        except ProblemError as exc:
            await send_problem(scope, send, exc)
            return
        await app(scope, receive, send)

    return middleware


__all__ = ["input_policy_middleware"]
