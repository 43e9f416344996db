"""A 401 on a tus route is still a tus answer: it carries Tus-Resumable (issue 15)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

PATH = "/api/mobile/v1/uploads"
UPLOAD = "3f1c2a9e-5b7d-4c1e-9a2b-6d8e0f4a1b2c"  # fixed: xdist workers must collect the same ids


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", PATH),
        ("HEAD", f"{PATH}/{UPLOAD}"),
        ("PATCH", f"{PATH}/{UPLOAD}"),
        ("DELETE", f"{PATH}/{UPLOAD}"),
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
