"""HTTP helpers for field-workflow tests (the team, its cases and actions: tests/factories.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from backend.core import clock
from tests.factories import GPS, MOBILE, Field


def stamp() -> dict[str, Any]:
    return {"device_time": clock.now().isoformat(), "location": GPS}


async def upload_video(f: Field, name: str, case_id: str, action_id: str, data: bytes, *, captured_at: datetime) -> Any:
    params = {
        "case_id": case_id,
        "action_id": action_id,
        "kind": "video",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": captured_at.astimezone(UTC).isoformat(),
        "device_id": f"phone-{name}",
    }
    return await f.client.post(
        f"{MOBILE}/evidence", params=params, content=data, headers={**f.h(name), "Content-Type": "video/mp4"}
    )


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["type"] == f"/problems/{slug}", body
    return body
