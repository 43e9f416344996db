"""Reading evidence while the object store is down (issue 15.6): a retryable 503 with
Retry-After, like a database outage, never a 500."""

from __future__ import annotations

import socket

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.core import db
from backend.core.keys import KeyRing
from backend.core.settings import Settings
from backend.registry import all_tables

from .conftest import Scene


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.requirement("R-REC-8")
async def test_reading_evidence_while_the_store_is_down_answers_503(scene: Scene, settings: Settings, key_ring: KeyRing) -> None:
    reviewer = await scene.h("reviewer")
    down = msgspec.structs.replace(
        settings, store_url=f"http://127.0.0.1:{_closed_port()}", s3_access_key="down", s3_secret_key="down-secret"
    )
    previous = db.current_engine()
    try:
        async with AsyncTestClient(create_app(down, keys=key_ring)) as client:
            response = await client.get(
                f"/api/v1/evidence/{scene.evidence[0].id}/content?purpose=court hearing", headers=reviewer
            )
    finally:
        db.bind(previous, all_tables())
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/object-store-unavailable"
    assert int(response.headers["retry-after"]) > 0
