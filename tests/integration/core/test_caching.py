"""ETag / If-None-Match and gzip on JSON reads: a slow link re-downloads nothing unchanged."""

from __future__ import annotations

import asyncio


async def test_unchanged_list_answers_304_and_changes_get_a_new_etag(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    headers = await auth_headers(admin)
    first = await client.get("/api/v1/units", headers=headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = await client.get("/api/v1/units", headers=headers | {"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    await client.post("/api/v1/units", json={"name": "执法一队"}, headers=headers)
    changed = await client.get("/api/v1/units", headers=headers | {"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()[0]["name"] == "执法一队"


async def test_errors_are_never_304(client):
    response = await client.get("/api/v1/units", headers={"If-None-Match": "*"})
    assert response.status_code == 401


async def test_large_json_is_gzipped(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    headers = await auth_headers(admin)
    for index in range(30):
        await client.post("/api/v1/units", json={"name": f"执法大队第{index}中队"}, headers=headers)
    response = await client.get("/api/v1/units", headers=headers | {"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
    assert len(response.json()) == 30


async def test_gzipped_answers_keep_their_etag_and_give_304(client, make_person, auth_headers):
    """Issue 15 defect 13: the ETag is computed on the identity body, not on gzip bytes that
    carry a timestamp, so a phone's If-None-Match gets 304 for answers over 1 KiB."""
    admin = await make_person(roles=["admin"])
    headers = await auth_headers(admin) | {"Accept-Encoding": "gzip"}
    for index in range(30):
        await client.post("/api/v1/units", json={"name": f"执法大队第{index}中队"}, headers=headers)
    first = await client.get("/api/v1/units", headers=headers)
    assert first.headers.get("content-encoding") == "gzip"
    await asyncio.sleep(1.1)  # gzip's header carries the time in whole seconds
    second = await client.get("/api/v1/units", headers=headers)
    assert second.headers.get("content-encoding") == "gzip"
    assert second.headers["etag"] == first.headers["etag"]
    identity = await client.get("/api/v1/units", headers=headers | {"Accept-Encoding": "identity"})
    assert identity.headers["etag"] == first.headers["etag"]
    again = await client.get("/api/v1/units", headers=headers | {"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
