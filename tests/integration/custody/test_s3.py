"""Custody against the S3 server over HTTP: Range reads, presigned links, legal hold, re-hash."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from minio import Minio

from backend.app import create_app
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.ledger.tables import LedgerRow
from evidence.store import ObjectStore, open_store

from .conftest import Scene


@pytest.fixture
def app(s3_settings: Settings, key_ring: KeyRing) -> Litestar:
    return create_app(s3_settings, keys=key_ring)


@pytest.fixture
async def app_store(s3_settings: Settings) -> AsyncIterator[ObjectStore]:
    store = open_store(s3_settings)
    yield store
    await store.close()


@pytest.mark.requirement("R-REC-8")
async def test_range_read_from_s3_matches_source(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    item = scene.evidence[0]
    source = scene.payloads[item.id]
    for header, expected in [("bytes=0-0", source[:1]), ("bytes=1000-", source[1000:]), ("bytes=-4096", source[-4096:])]:
        response = await client.get(
            f"/api/v1/evidence/{item.id}/content?purpose=review", headers={**await scene.h("reviewer"), "Range": header}
        )
        assert response.status_code == 206
        assert response.content == expected


@pytest.mark.requirement("R-REC-7", "R-REC-8")
async def test_presigned_link_lives_at_most_five_minutes_and_is_logged(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    item = scene.evidence[1]
    response = await client.post(
        f"/api/v1/evidence/{item.id}/link", json={"purpose": "play in court", "expires_s": 120}, headers=await scene.h("reviewer")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    query = parse_qs(urlparse(body["url"]).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert item.object_key in body["url"]
    logged = await LedgerRow.select().where(LedgerRow.event == "evidence.link_issued").first()
    assert logged is not None
    assert logged["subject_id"] == str(item.id)
    assert '"purpose":"play in court"' in logged["details"]
    default = await client.post(
        f"/api/v1/evidence/{item.id}/link", json={"purpose": "player"}, headers=await scene.h("supervisor")
    )
    assert parse_qs(urlparse(default.json()["url"]).query)["X-Amz-Expires"] == ["300"]
    no_purpose = await client.post(f"/api/v1/evidence/{item.id}/link", json={}, headers=await scene.h("supervisor"))
    assert no_purpose.status_code == 422


@pytest.mark.requirement("R-REC-6")
async def test_legal_hold_is_placed_and_released_on_the_objects(
    client: AsyncTestClient[Litestar], scene: Scene, app_store: ObjectStore
) -> None:
    placed = await client.post(
        f"/api/v1/cases/{scene.case_id}/legal-hold",
        json={"reason": "litigation notice 2026-17"},
        headers=await scene.h("reviewer"),
    )
    assert placed.status_code == 200, placed.text
    for item in scene.evidence:
        info = await app_store.stat(item.object_key)
        assert info is not None
        assert info.legal_hold is True
    released = await client.post(
        f"/api/v1/cases/{scene.case_id}/legal-hold/release", json={"reason": "case closed"}, headers=await scene.h("supervisor")
    )
    assert released.status_code == 200
    for item in scene.evidence:
        info = await app_store.stat(item.object_key)
        assert info is not None
        assert info.legal_hold is False
    events = [r["event"] for r in await LedgerRow.select(LedgerRow.event).where(LedgerRow.case_id == scene.case_id)]
    assert events.count("evidence.held") == 2
    assert events.count("evidence.released") == 2
    stranger = await client.post(
        f"/api/v1/cases/{scene.case_id}/legal-hold", json={"reason": "nosy"}, headers=await scene.h("stranger")
    )
    assert stranger.status_code == 404


@pytest.mark.requirement("R-REC-8")
async def test_rewritten_s3_object_is_found_by_reverification(
    client: AsyncTestClient[Litestar], scene: Scene, s3_settings: Settings
) -> None:
    victim = scene.evidence[1]
    endpoint = urlparse(s3_settings.store_url)
    raw = Minio(endpoint.netloc, access_key=s3_settings.s3_access_key, secret_key=s3_settings.s3_secret_key, secure=False)
    forged = bytearray(scene.payloads[victim.id])
    forged[500] ^= 0x01
    # A new version under the same key (the versioned bucket keeps the old one).
    raw.put_object(s3_settings.s3_bucket, victim.object_key, io.BytesIO(bytes(forged)), length=len(forged))
    response = await client.post(f"/api/v1/cases/{scene.case_id}/verification-runs", headers=await scene.h("supervisor"))
    run = (await client.get(response.headers["location"], headers=await scene.h("supervisor"))).json()
    assert run["status"] == "finished"
    assert [(m["evidence_id"], m["location"]) for m in run["mismatches"]] == [(str(victim.id), victim.object_key)]
