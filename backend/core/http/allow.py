"""``Allow`` on OPTIONS answers lists every method of the path (issue 15, point 8).

Litestar builds one route per group of handlers sharing a path, each with its own automatic
OPTIONS handler naming only its own methods; where the office registers, say, ``GET`` and
``POST /api/v1/agencies`` in different places, ``OPTIONS`` answered ``Allow: OPTIONS, POST``
although ``GET`` is served too. This middleware puts the union of every route's methods for
the path into the ``Allow`` header of an OPTIONS answer that has one.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_CACHE = "fieldproof.allowed_methods"


def _allowed(app: Any) -> dict[str, set[str]]:
    known: dict[str, set[str]] | None = app.state.get(_CACHE)
    if known is None:
        known = {}
        for route in app.routes:
            known.setdefault(route.path, set()).update(str(method) for method in getattr(route, "methods", ()))
        app.state[_CACHE] = known
    return known


def allow_header_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await app(scope, receive, send)
            return
        handler = scope.get("route_handler")
        known = _allowed(scope["app"])
        methods = set().union(*(known.get(path, set()) for path in getattr(handler, "paths", ())))

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and methods:
                headers = list(message.get("headers", []))
                if any(name.lower() == b"allow" for name, _ in headers):
                    headers = [(name, value) for name, value in headers if name.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware


__all__ = ["allow_header_middleware"]
