"""A 401 on a tus route is still a tus answer: it carries Tus-Resumable (issue 15)."""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

PATH = "/api/mobile/v1/uploads"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", PATH),
        ("HEAD", f"{PATH}/{uuid.uuid4()}"),
        ("PATCH", f"{PATH}/{uuid.uuid4()}"),
        ("DELETE", f"{PATH}/{uuid.uuid4()}"),
    ],
)
async def test_anonymous_tus_requests_get_401_with_tus_resumable(
    client: AsyncTestClient[Litestar], method: str, path: str
) -> None:
    # Authentication answers before the tus middleware runs; the route's headers come along.
    response = await client.request(method, path, headers={"Tus-Resumable": "1.0.0"})
    assert response.status_code == 401
    assert response.headers["tus-resumable"] == "1.0.0"
    if method != "HEAD":
        assert response.json()["type"] == "/problems/unauthorized"
