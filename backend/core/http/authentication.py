"""Authentication before anything else a route checks (issue 15, defect 12).

Litestar parses a route's parameters and body before it resolves its dependencies, so an
anonymous request used to learn which parameters were missing (400) instead of hearing 401.
Every route whose handler takes the ``principal`` dependency (directly or through another
dependency) is authenticated here, by an app middleware that runs once the route is known
and before the input policy, idempotency, tus header checks and parameter parsing. The
principal is kept in the request scope, and the ``principal`` dependency returns it, so a
request is authenticated once. Routes without a principal (login, refresh, public pages,
health) are untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar import Request
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.auth import Principal
from backend.core.errors import Unauthorized
from backend.core.http.problems import as_problem, send_problem

PRINCIPAL = "principal"
_SCOPE_KEY = "fieldproof.principal"

Authenticate = Callable[[str], Awaitable[Principal]]

# The answer is kept on the handler itself (its ``opt`` mapping): an id()-keyed cache handed a
# later app's handler an earlier one's answer once the earlier app was collected, and not every
# handler (Litestar's own OPTIONS ones) can be weakly referenced.
_NEEDS_KEY = "fieldproof.needs_principal"

PROBLEM_HEADERS = "fieldproof.problem_headers"
"""A handler's ``opt`` key: headers every answer of the route carries, so the 401 (or 503) this
middleware answers before the route's own middleware runs carries them too (tus: Tus-Resumable)."""


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <access token>")
    return token.strip()


def needs_principal(handler: BaseRouteHandler) -> bool:
    """Whether the handler, or a dependency it takes (at any depth), takes ``principal``."""
    known = handler.opt.get(_NEEDS_KEY)
    if known is None:
        known = handler.opt[_NEEDS_KEY] = _takes_principal(handler)
    return bool(known)


def _takes_principal(handler: BaseRouteHandler) -> bool:
    providers = handler.resolve_dependencies()
    pending = list(handler.parsed_fn_signature.parameters)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name == PRINCIPAL:
            return True
        if name in seen or name not in providers:
            continue
        seen.add(name)
        pending.extend(inspect.signature(providers[name].dependency).parameters)
    return False


def authentication_middleware_factory(authenticate: Authenticate) -> Callable[[ASGIApp], ASGIApp]:
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope.get("route_handler")
            if scope["type"] != ScopeType.HTTP or handler is None or not needs_principal(handler):
                await app(scope, receive, send)
                return
            authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            try:
                principal = await authenticate(bearer_token(authorization))
            except Exception as exc:
                problem = as_problem(exc)  # 401, or 503 when the database does not answer
                if problem is None:
                    raise
                extra = handler.opt.get(PROBLEM_HEADERS) or {}
                headers = [(name.lower().encode(), value.encode()) for name, value in extra.items()]
                await send_problem(scope, send, problem, headers=headers)
                return
            cast("dict[str, Any]", scope)[_SCOPE_KEY] = principal
            await app(scope, receive, send)

        return middleware

    return factory


def authenticated(scope: Scope) -> Principal | None:
    """The principal this middleware authenticated for the request, if it did."""
    known = cast("dict[str, Any]", scope).get(_SCOPE_KEY)
    return known if isinstance(known, Principal) else None


async def request_principal(request: Request[Any, Any, Any], authenticate: Authenticate) -> Principal:
    """The ``principal`` dependency: the one the middleware authenticated, else (a route
    the middleware did not see, e.g. in a test app without it) authenticated now."""
    known = authenticated(request.scope)
    if known is not None:
        return known
    return await authenticate(bearer_token(request.headers.get("authorization")))


def client_address(request: Request[Any, Any, Any]) -> str:
    """The client's address as the ASGI server reports it (behind a reverse proxy, configure
    the server's forwarded-headers trust, or every caller shares the proxy's address)."""
    return request.client.host if request.client else "unknown"
