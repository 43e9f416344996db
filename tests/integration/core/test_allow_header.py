"""OPTIONS names every method of a path, whichever module registered them (issue 15, point 8)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/agencies", {"GET", "POST", "OPTIONS"}),
        ("/api/v1/users/0b6b5e2e-1111-4111-8111-111111111111", {"GET", "PATCH", "OPTIONS"}),
        ("/api/mobile/v1/devices", {"GET", "POST", "OPTIONS"}),
    ],
)
async def test_options_allow_lists_every_method_of_the_path(
    client: AsyncTestClient[Litestar], path: str, methods: set[str]
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) >= methods
    # The document agrees: every method it lists for the path is in Allow.
    document = (await client.get("/schema/openapi.json")).json()
    template = next(p for p in document["paths"] if p.split("/")[:4] == path.split("/")[:4] and p.count("/") == path.count("/"))
    documented = {m.upper() for m in document["paths"][template] if m in {"get", "post", "put", "patch", "delete"}}
    assert documented <= set(response.headers["allow"].split(", "))
