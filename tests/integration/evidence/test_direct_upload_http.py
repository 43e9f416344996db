"""POST /api/mobile/v1/evidence: the phone's single-request upload, over HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.ledger.tables import LedgerRow
from evidence.tables import EvidenceItem
from tests import factories as make
from tests.integration.evidence import media_factory

URL = "/api/mobile/v1/evidence"


def query(data: bytes, case_id: Any, kind: str = "photo", **extra: Any) -> str:
    params = {
        "case_id": str(case_id),
        "kind": kind,
        "sha256": hashlib.sha256(data).hexdigest().upper(),  # phones may send upper-case hex
        "captured_at": datetime.now(UTC).isoformat(),
        "device_id": "android-7f3a",
        "lat": "35.61",
        "lon": "111.22",
        "accuracy_m": "12",
        **extra,
    }
    return f"{URL}?{urlencode(params)}"


async def asgi_post(
    app: Any, url: str, headers: dict[str, str], pieces: list[bytes], *, disconnect: bool = False
) -> tuple[int | None, bytes]:
    """Drive the real app at the ASGI level: a chunked body without Content-Length, or a
    client that vanishes mid-body (the test client can send neither)."""
    path, _, query_string = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()] + [(b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    events = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    events.append({"type": "http.disconnect"} if disconnect else {"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict] = []

    async def receive() -> Any:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return (start["status"] if start else None), body


@pytest.fixture
async def officer(make_person: Any) -> Any:
    return await make_person(roles=["officer"])


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-5")
async def test_direct_upload_creates_evidence_and_retry_is_idempotent(client: Any, officer: Any, auth_headers: Any) -> None:
    headers = await auth_headers(officer)
    case = await make.case(officer)
    data = media_factory.jpeg()
    response = await client.post(
        query(data, case.id), content=data, headers={**headers, "Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    sha = hashlib.sha256(data).hexdigest()
    assert body["status"] == "created"
    assert body["sha256"] == sha
    assert body["media_type"] == "image/jpeg"  # sniffed, not the declared octet-stream
    assert body["existing"] is False
    record = await client.get(f"{URL}/{body['evidence_id']}", headers=headers)
    assert record.status_code == 200
    assert record.json()["case_id"] == str(case.id)
    assert record.json()["lat"] == 35.61
    retry = await client.post(query(data, case.id), content=data, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["status"] == "duplicate"
    assert retry.json()["evidence_id"] == body["evidence_id"]
    assert await EvidenceItem.count() == 1


@pytest.mark.requirement("R-REC-5")
async def test_hash_mismatch_is_a_problem_and_attaches_nothing(client: Any, officer: Any, auth_headers: Any) -> None:
    headers = await auth_headers(officer)
    case = await make.case(officer)
    data = media_factory.jpeg()
    url = query(data, case.id).replace(hashlib.sha256(data).hexdigest().upper(), "A" * 64)
    response = await client.post(url, content=data, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/hash-mismatch"
    assert response.json()["field"] == "sha256"
    assert await EvidenceItem.count() == 0
    events = await LedgerRow.select(LedgerRow.event).where(LedgerRow.event.like("evidence.%"))
    assert [e["event"] for e in events] == ["evidence.rejected"]


async def test_disallowed_type_answers_415(client: Any, officer: Any, auth_headers: Any) -> None:
    headers = await auth_headers(officer)
    case = await make.case(officer)
    data = b"MZ\x90\x00 definitely not a photo"
    response = await client.post(query(data, case.id, filename="cat.jpg"), content=data, headers=headers)
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/disallowed-media-type"
    assert await EvidenceItem.count() == 0


async def test_bad_declaration_names_the_field(client: Any, officer: Any, auth_headers: Any) -> None:
    headers = await auth_headers(officer)
    case = await make.case(officer)
    data = media_factory.png()
    response = await client.post(query(data, case.id, lat="123"), content=data, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "lat"
    response = await client.post(query(data, case.id, kind="hologram"), content=data, headers=headers)
    assert response.status_code == 400


async def test_authentication_and_agency_scoping(client: Any, officer: Any, auth_headers: Any, make_person: Any) -> None:
    case = await make.case(officer)
    data = media_factory.png()
    assert (await client.post(query(data, case.id), content=data)).status_code == 401
    stranger = await make_person(roles=["officer"])
    response = await client.post(query(data, case.id), content=data, headers=await auth_headers(stranger))
    assert response.status_code == 404
    assert await EvidenceItem.count() == 0
    mine = await client.post(query(data, case.id), content=data, headers=await auth_headers(officer))
    foreign = await client.get(f"{URL}/{mine.json()['evidence_id']}", headers=await auth_headers(stranger))
    assert foreign.status_code == 404


async def test_body_over_the_configured_limit_is_413(settings: Any, key_ring: Any, make_person: Any) -> None:
    small = msgspec.structs.replace(settings, direct_upload_limit=4096)
    app = create_app(small, keys=key_ring)
    async with AsyncTestClient(app) as small_client:
        officer = await make_person(roles=["officer"])
        login = await small_client.post("/api/v1/auth/login", json={"username": officer.username, "password": "test-password-1"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        case = await make.case(officer)
        data = media_factory.jpeg(size=(300, 300)) + b"\0" * 8192
        announced = await small_client.post(query(data, case.id), content=data, headers=headers)
        assert announced.status_code == 413
        assert announced.json()["type"] == "/problems/upload-too-large"

        # No Content-Length (chunked): refused while streaming, after the limit is passed.
        pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
        status, body = await asgi_post(app, query(data, case.id), headers, pieces)
        assert status == 413
        assert msgspec.json.decode(body)["type"] == "/problems/upload-too-large"
        assert await EvidenceItem.count() == 0


async def test_direct_upload_to_the_s3_server(s3_settings: Any, key_ring: Any, make_person: Any) -> None:
    app = create_app(s3_settings, keys=key_ring)
    async with AsyncTestClient(app) as s3_client:
        officer = await make_person(roles=["officer"])
        login = await s3_client.post("/api/v1/auth/login", json={"username": officer.username, "password": "test-password-1"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        case = await make.case(officer)
        data = media_factory.mp4(seconds=1)
        response = await s3_client.post(query(data, case.id, kind="video"), content=data, headers=headers)
        assert response.status_code == 201, response.text
        assert (await s3_client.get("/ready")).json()["checks"]["object_store"] == "ok"
    from minio import Minio

    endpoint = s3_settings.store_url.split("://", 1)[1]
    minio = Minio(endpoint, access_key=s3_settings.s3_access_key, secret_key=s3_settings.s3_secret_key, secure=False)
    stored = minio.get_object(s3_settings.s3_bucket, response.json()["object_key"])
    try:
        assert stored.read() == data
    finally:
        stored.close()
        stored.release_conn()


async def test_client_vanishing_mid_body_leaves_nothing_and_no_500(
    app: Any, settings: Any, client: Any, officer: Any, auth_headers: Any
) -> None:
    headers = await auth_headers(officer)
    case = await make.case(officer)
    data = media_factory.jpeg(size=(200, 200))
    status, body = await asgi_post(app, query(data, case.id), headers, [data[:500], data[500:1000]], disconnect=True)
    assert status == 400, body  # nobody is listening, but it is logged as a client error, never a 500
    if status == 400:
        assert msgspec.json.decode(body)["type"] == "/problems/client-disconnected"
    assert await EvidenceItem.count() == 0
    staging = Path(settings.effective_store_url.removeprefix("file://")) / "data" / "staging"
    assert not staging.exists() or [p for p in staging.rglob("*") if p.is_file()] == []
