"""Authentication before validation on every /api/ route (issue 15, defect 12): an anonymous
request learns nothing about a route's parameters or body, only that it must sign in."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from backend.core.http.authentication import needs_principal

# The only /api/ routes that take no access token: they are how one is obtained or ended.
ANONYMOUS = {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"}
_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def _concrete(path: str) -> str:
    values = {"uuid": str(uuid.uuid4()), "int": "1", "str": "x", "path": "x"}
    return _PARAMETER.sub(lambda m: values.get(m.group(2), "x"), path)


def _api_routes(app: Litestar) -> list[tuple[str, str, bool]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method != "OPTIONS":
                found.append((method, route.path, needs_principal(handler)))
    return sorted(found)


def test_every_api_route_but_the_auth_routes_takes_a_principal(app):
    routes = _api_routes(app)
    assert len(routes) > 50
    anonymous = {path for _, path, needs in routes if not needs}
    assert anonymous <= ANONYMOUS, f"routes under /api/ without authentication: {sorted(anonymous - ANONYMOUS)}"


@pytest.mark.parametrize("token", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
async def test_anonymous_requests_get_401_before_any_validation(client, app, token):
    headers = {"Content-Type": "application/json"} | ({"Authorization": token} if token else {})
    checked = 0
    for method, path, needs in _api_routes(app):
        if not needs:
            continue
        # An invalid body and no parameters: validation would answer 400/415/422/412 first.
        response = await client.request(method, _concrete(path), headers=headers, content=b"{")
        assert response.status_code == 401, f"{method} {path}: {response.status_code} {response.text[:200]}"
        if method != "HEAD":
            assert response.headers["content-type"].startswith("application/problem+json"), f"{method} {path}"
            assert response.json()["type"] == "/problems/unauthorized"
        checked += 1
    assert checked > 50


async def test_an_anonymous_evidence_upload_is_401_not_400(client):
    response = await client.post("/api/mobile/v1/evidence", content=b"")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/unauthorized"
    assert "missing" not in response.text.lower()


async def test_a_signed_in_request_is_still_validated(client, make_person, auth_headers):
    officer = await make_person(roles=["officer"])
    response = await client.post("/api/mobile/v1/evidence", content=b"", headers=await auth_headers(officer))
    assert response.status_code in {400, 415, 422}
