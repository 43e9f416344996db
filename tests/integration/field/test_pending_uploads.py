"""A segment still uploading (tus) is pending on the phone checklist, never covered (R-REC-4)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from backend.core import clock
from tests.factories import MOBILE, field_team, open_case, plan_action


@pytest.fixture
async def f(client):
    return await field_team(client)


def _metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


@pytest.mark.requirement("R-REC-4")
async def test_open_resumable_upload_counts_as_pending_for_its_action(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="impound", participants=("wang", "li"), checked_in=("li",))
    other = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li"))
    before = (await f.client.get(f"{MOBILE}/actions/{action['id']}", headers=f.h("wang"))).json()
    assert before["pending_uploads"] == 0
    created = await f.client.post(
        f"{MOBILE}/uploads",
        headers={
            **f.h("li"),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(10 * 1024 * 1024),
            "Upload-Metadata": _metadata(
                filename="segment-1.mp4",
                filetype="video/mp4",
                sha256=hashlib.sha256(b"not yet").hexdigest(),
                case_id=case["id"],
                action_id=action["id"],
                captured_at=clock.now().isoformat(),
                device_id="phone-li",
            ),
        },
    )
    assert created.status_code == 201, created.text
    during = (await f.client.get(f"{MOBILE}/actions/{action['id']}", headers=f.h("wang"))).json()
    assert during["pending_uploads"] == 1
    unrelated = (await f.client.get(f"{MOBILE}/actions/{other['id']}", headers=f.h("wang"))).json()
    assert unrelated["pending_uploads"] == 0
    location = created.headers["location"]
    terminated = await f.client.delete(location, headers={**f.h("li"), "Tus-Resumable": "1.0.0"})
    assert terminated.status_code == 204
    after = (await f.client.get(f"{MOBILE}/actions/{action['id']}", headers=f.h("wang"))).json()
    assert after["pending_uploads"] == 0
