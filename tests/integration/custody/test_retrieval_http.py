"""Legal-reviewer retrieval over HTTP: Range reads byte for byte, purpose first, scoping."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.ledger.tables import LedgerRow

from .conftest import Scene


def url(scene: Scene, index: int = 0, purpose: str | None = "court hearing 2026-03") -> str:
    base = f"/api/v1/evidence/{scene.evidence[index].id}/content"
    return base if purpose is None else f"{base}?purpose={purpose}"


@pytest.mark.requirement("R-REC-8")
async def test_full_read_streams_the_original_with_etag(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    item = scene.evidence[0]
    response = await client.get(url(scene), headers=await scene.h("reviewer"))
    assert response.status_code == 200
    assert response.content == scene.payloads[item.id]
    assert response.headers["etag"] == f'"{item.sha256}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(item.size)


@pytest.mark.requirement("R-REC-8")
async def test_range_reads_match_the_source(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    item = scene.evidence[0]
    source = scene.payloads[item.id]
    size = len(source)

    # hypothesis draws the ranges (sync); the requests then run on the test's event loop.
    cases: list[tuple[str, bytes]] = []

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(kind=st.sampled_from(["closed", "open", "suffix"]), a=st.integers(0, size - 1), b=st.integers(0, size + 500))
    def draw(kind: str, a: int, b: int) -> None:
        cases.append(
            {
                "closed": (f"bytes={a}-{max(a, b)}", source[a : max(a, b) + 1]),
                "open": (f"bytes={a}-", source[a:]),
                "suffix": (f"bytes=-{b + 1}", source[-(b + 1) :]),
            }[kind]
        )

    draw()
    for header, expected in cases:
        response = await client.get(url(scene), headers={**await scene.h("reviewer"), "Range": header})
        assert response.status_code == 206, header
        assert response.content == expected, header
        start = size - len(expected)
        if header.startswith("bytes=-") or header.endswith("-"):
            assert response.headers["content-range"] == f"bytes {start}-{size - 1}/{size}"
        assert response.headers["content-length"] == str(len(expected))


async def test_unsatisfiable_or_invalid_range_is_416(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    for header in ["bytes=400000-", "bytes=10-5", "bytes=-0", "bytes=x-y"]:
        response = await client.get(url(scene), headers={**await scene.h("reviewer"), "Range": header})
        assert response.status_code == 416, header
        assert response.headers["content-range"] == f"bytes */{scene.evidence[0].size}"
        assert response.json()["type"] == "/problems/range-not-satisfiable"


async def test_if_range_with_another_validator_sends_everything(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    item = scene.evidence[0]
    same = await client.get(
        url(scene), headers={**await scene.h("reviewer"), "Range": "bytes=0-9", "If-Range": f'"{item.sha256}"'}
    )
    assert (same.status_code, same.content) == (206, scene.payloads[item.id][:10])
    other = await client.get(url(scene), headers={**await scene.h("reviewer"), "Range": "bytes=0-9", "If-Range": '"0000"'})
    assert (other.status_code, other.content) == (200, scene.payloads[item.id])


@pytest.mark.requirement("R-REC-7")
async def test_retrieval_without_purpose_is_422_and_not_logged(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    before = await LedgerRow.count()
    for target in (url(scene, purpose=None), url(scene, purpose="")):
        response = await client.get(target, headers=await scene.h("reviewer"))
        assert response.status_code == 422
        assert response.json()["field"] == "purpose"
    assert await LedgerRow.count() == before


@pytest.mark.requirement("R-REC-7")
async def test_every_retrieval_is_in_the_ledger_with_purpose_and_range(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    item = scene.evidence[1]
    await client.get(url(scene, 1, "appeal review"), headers={**await scene.h("supervisor"), "Range": "bytes=100-199"})
    await client.get(url(scene, 1, "appeal review"), headers=await scene.h("supervisor"))
    rows = (
        await LedgerRow.select()
        .where((LedgerRow.subject_id == str(item.id)) & LedgerRow.event.is_in(["evidence.range_read", "evidence.downloaded"]))
        .order_by(LedgerRow.seq)
    )
    assert [r["event"] for r in rows] == ["evidence.range_read", "evidence.downloaded"]
    supervisor = await scene.person("supervisor")
    assert all(r["actor_id"] == supervisor.user.id for r in rows)
    assert '"purpose":"appeal review"' in rows[0]["details"]
    assert '"range":[100,199]' in rows[0]["details"]


@pytest.mark.requirement("R-REC-8")
async def test_access_is_reviewers_and_assigned_officers_only(client: AsyncTestClient[Litestar], scene: Scene) -> None:
    expected = {"reviewer": 200, "supervisor": 200, "officer": 200, "colleague": 404, "stranger": 404}
    for name, status in expected.items():
        response = await client.get(url(scene, 1), headers=await scene.h(name))
        assert response.status_code == status, name


async def test_presigned_link_on_file_store_is_a_clear_conflict_and_not_logged(
    client: AsyncTestClient[Litestar], scene: Scene
) -> None:
    before = await LedgerRow.count()
    response = await client.post(
        f"/api/v1/evidence/{scene.evidence[0].id}/link", json={"purpose": "video player"}, headers=await scene.h("reviewer")
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/presigned-link-unavailable"
    assert await LedgerRow.count() == before
    too_long = await client.post(
        f"/api/v1/evidence/{scene.evidence[0].id}/link",
        json={"purpose": "video", "expires_s": 301},
        headers=await scene.h("reviewer"),
    )
    assert too_long.status_code == 400
