"""Idempotency-Key: a phone's retry returns the first answer and creates nothing new."""

from __future__ import annotations

import itertools

import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from backend.core.auth import TokenIssuer
from backend.core.http.idempotency import idempotency_middleware_factory
from backend.core.tables import IdempotentRequest


@pytest.fixture
async def counting_client(app, key_ring, settings):
    """A tiny app behind the real middleware; the `app` fixture bound the real database."""
    counter = itertools.count(1)

    @post("/api/mobile/v1/things", status_code=201)
    async def create_thing(data: JSONBody[dict[str, str]]) -> dict[str, object]:
        return {"number": next(counter), "echo": data}

    issuer = TokenIssuer(key_ring, issuer=settings.issuer, audience=settings.audience, ttl_s=settings.access_token_ttl_s)
    tiny = Litestar([create_thing], middleware=[idempotency_middleware_factory(issuer, path_prefix="/api/mobile/")])
    async with AsyncTestClient(tiny) as test_client:
        yield test_client


async def test_retry_with_same_key_replays_first_answer(counting_client, client, make_person, auth_headers):
    headers = await auth_headers(await make_person()) | {"Idempotency-Key": "photo-1"}
    first = await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=headers)
    again = await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"number": 1, "echo": {"a": "1"}}
    assert again.headers["idempotent-replayed"] == "true"
    fresh = await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=headers | {"Idempotency-Key": "photo-2"})
    assert fresh.json()["number"] == 2
    assert await IdempotentRequest.count() == 2


async def test_same_key_different_body_is_422(counting_client, client, make_person, auth_headers):
    headers = await auth_headers(await make_person()) | {"Idempotency-Key": "k-1"}
    await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=headers)
    response = await counting_client.post("/api/mobile/v1/things", json={"a": "2"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"


async def test_keys_are_scoped_per_user(counting_client, client, make_person, auth_headers):
    one = await auth_headers(await make_person()) | {"Idempotency-Key": "same"}
    two = await auth_headers(await make_person()) | {"Idempotency-Key": "same"}
    first = await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=one)
    second = await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=two)
    assert first.json()["number"] != second.json()["number"]


async def test_unauthenticated_requests_are_not_cached(counting_client, client):
    headers = {"Idempotency-Key": "k", "Authorization": "Bearer forged"}
    await counting_client.post("/api/mobile/v1/things", json={"a": "1"}, headers=headers)
    assert await IdempotentRequest.count() == 0
