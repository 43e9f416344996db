"""Operations surface: health, readiness, metrics, OpenAPI, problem+json everywhere."""

from __future__ import annotations

import pytest


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_request_id_is_echoed_or_made(client):
    response = await client.get("/health", headers={"X-Request-ID": "phone-abc-123"})
    assert response.headers["x-request-id"] == "phone-abc-123"
    made = (await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})).headers["x-request-id"]
    assert made != "bad id with spaces"
    assert len(made) == 32


async def test_metrics_are_prometheus_text(client):
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "fieldproof" in response.text


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/no/such/route", 404), ("DELETE", "/health", 405)])
async def test_routing_errors_are_problems(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    assert "Traceback" not in response.text


async def test_openapi_documents_every_route(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head"}:
                continue
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("tags"), f"{method.upper()} {path} has no tag"
    assert (await client.get("/schema")).status_code == 200


async def test_problem_titles_follow_accept_language(client):
    chinese = await client.get("/no/such/route")
    assert chinese.json()["title"] == "未找到"
    assert chinese.headers["content-language"] == "zh-CN"
    english = await client.get("/no/such/route", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.json()["title"] == "Not found"
    assert english.json()["type"] == chinese.json()["type"] == "/problems/not-found"
