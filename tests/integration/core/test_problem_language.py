"""Problems answered by ASGI middlewares follow Accept-Language like every other problem:
the title in zh-CN by default or in English on request, named in Content-Language; the
``type`` slug never changes."""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from backend.core.auth import TokenIssuer
from backend.core.http.idempotency import idempotency_middleware_factory

UPLOADS = "/api/mobile/v1/uploads"


@pytest.fixture
async def idempotent_client(app, key_ring, settings):
    @post("/api/mobile/v1/things", status_code=201)
    async def create_thing(data: JSONBody[dict[str, str]]) -> dict[str, str]:
        return data

    issuer = TokenIssuer(key_ring, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)
    tiny = Litestar([create_thing], middleware=[idempotency_middleware_factory(issuer, path_prefix="/api/mobile/")])
    async with AsyncTestClient(tiny) as test_client:
        yield test_client


async def test_idempotency_key_reused_speaks_the_requested_language(idempotent_client, client, make_person, auth_headers):
    headers = await auth_headers(await make_person()) | {"Idempotency-Key": "k-language"}
    await idempotent_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=headers)

    chinese = await idempotent_client.post("/api/mobile/v1/things", json={"a": "2"}, headers=headers)
    english = await idempotent_client.post("/api/mobile/v1/things", json={"a": "3"}, headers=headers | {"Accept-Language": "en"})

    for response in (chinese, english):
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "/problems/idempotency-key-reused"
        assert response.json()["field"] == "Idempotency-Key"
    assert chinese.headers["content-language"] == "zh-CN"
    assert chinese.json()["title"] == "幂等键已用于其他请求"
    assert english.headers["content-language"] == "en"
    assert english.json()["title"] == "Idempotency-Key reused"


async def test_tus_version_problem_speaks_the_requested_language(client, make_person, auth_headers):
    # Answered by the tus header middleware before the route runs (after authentication,
    # which comes first on every route: issue 15, defect 12).
    signed_in = await auth_headers(await make_person(roles=["officer"]))
    chinese = await client.post(UPLOADS, headers={"Upload-Length": "10"} | signed_in)
    english = await client.post(UPLOADS, headers={"Upload-Length": "10", "Accept-Language": "en-GB,en;q=0.9"} | signed_in)

    for response in (chinese, english):
        assert response.status_code == 412
        assert response.headers["tus-version"] == "1.0.0"
        assert response.json()["type"] == "/problems/tus-version-unsupported"
    assert chinese.headers["content-language"] == "zh-CN"
    assert chinese.json()["title"] == "不支持的 Tus-Resumable 版本"
    assert english.headers["content-language"] == "en"
    assert english.json()["title"] == "Unsupported Tus-Resumable version"


async def test_tus_route_problem_speaks_the_requested_language(client, make_person, auth_headers):
    headers = await auth_headers(await make_person()) | {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }
    url = f"{UPLOADS}/{uuid.uuid4()}"
    chinese = await client.patch(url, content=b"x", headers=headers)
    english = await client.patch(url, content=b"x", headers=headers | {"Accept-Language": "en"})

    for response in (chinese, english):
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/upload-not-found"
    assert chinese.headers["content-language"] == "zh-CN"
    assert chinese.json()["title"] == "上传不存在"
    assert english.headers["content-language"] == "en"
    assert english.json()["title"] == "Upload not found"
