"""Bytes that no longer match their record are never served under the recorded hash (issue 15, defect 11)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.exceptions import LitestarException
from litestar.testing import AsyncTestClient

from backend.core.settings import Settings
from evidence.custody.retrieval import StoredBytesChanged

from .conftest import Scene
from .test_review_http import flip_byte


def url(scene: Scene, index: int = 0) -> str:
    return f"/api/v1/evidence/{scene.evidence[index].id}/content?purpose=court hearing"


@pytest.mark.requirement("R-REC-8")
async def test_a_full_read_of_changed_bytes_breaks_off_and_marks_the_evidence(
    client: AsyncTestClient[Litestar], scene: Scene, settings: Settings
) -> None:
    damaged = scene.evidence[0]
    flip_byte(settings, damaged.object_key)
    headers = await scene.h("reviewer")
    # The stream is broken off before its last byte: no client holds a complete answer whose
    # ETag is the recorded hash (over HTTP the connection closes short of Content-Length).
    with pytest.raises(LitestarException) as broken:  # "Exception caught after response started"
        await client.get(url(scene), headers=headers)
    assert any(isinstance(found, StoredBytesChanged) for found in _causes(broken.value)), broken.value
    # Marked: from now on every read, range or link of it is refused, naming the problem.
    for response in (
        await client.get(url(scene), headers=headers),
        await client.get(url(scene), headers={**headers, "Range": "bytes=0-9"}),
        await client.post(f"/api/v1/evidence/{damaged.id}/link", headers=headers, json={"purpose": "court hearing"}),
    ):
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "etag" not in response.headers
        assert response.json()["type"] == "/problems/evidence-bytes-changed"
    chain = (await client.get(f"/api/v1/cases/{scene.case_id}/evidence-chain", headers=await scene.h("supervisor"))).json()
    verdicts = {item["evidence"]["id"]: item["verification"] for item in chain["items"]}
    assert verdicts[str(damaged.id)] == "re-hash FAILED"
    # The other object of the case is served as before.
    intact = await client.get(url(scene, 1), headers=headers)
    assert (intact.status_code, intact.content) == (200, scene.payloads[scene.evidence[1].id])


@pytest.mark.requirement("R-REC-8")
async def test_a_failed_verification_run_blocks_retrieval(
    client: AsyncTestClient[Litestar], scene: Scene, settings: Settings
) -> None:
    damaged = scene.evidence[0]
    flip_byte(settings, damaged.object_key)
    run = await client.post(f"/api/v1/cases/{scene.case_id}/verification-runs", headers=await scene.h("supervisor"))
    assert run.status_code == 202
    response = await client.get(url(scene), headers={**await scene.h("reviewer"), "Range": "bytes=0-99"})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/evidence-bytes-changed"


def _causes(error: BaseException) -> list[BaseException]:
    """The error, what caused it, and what an exception group it holds contains, all the way down."""
    found, pending = [], [error]
    while pending:
        current = pending.pop()
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if current.__cause__ is not None:
            pending.append(current.__cause__)
    return found
