"""A stage record is a file or a capture of that stage; /records lists captures too; closing a
case answers everything still missing at once (R-REC-1, R-REC-6; issue 14, found #8)."""

from __future__ import annotations

import hashlib

import pytest

from backend.core import clock
from tests import factories as make
from tests.factories import MOBILE, OFFICE, field_team, open_case, plan_action
from tests.integration.evidence.media_factory import jpeg
from tests.integration.field.field_helpers import problem


@pytest.fixture
async def f(client):
    return await field_team(client)


async def _photo(f: make.Field, case_id: str, color: str) -> str:
    data = jpeg(color=color)
    params = {
        "case_id": case_id,
        "kind": "photo",
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_at": clock.now().isoformat(),
        "device_id": "phone-wang",
        "filename": f"{color}.jpg",
    }
    response = await f.client.post(
        f"{MOBILE}/evidence", params=params, content=data, headers={**f.h("wang"), "Content-Type": "image/jpeg"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["evidence_id"])


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-1")
async def test_a_title_is_no_record_and_captures_are_listed_under_their_stage(f):
    case = await open_case(f, assisting=())
    cid = case["id"]
    # Found #8: a title-only "record" no longer satisfies R-REC-1 — it is refused outright.
    title_only = await f.client.post(f"{OFFICE}/cases/{cid}/records", json={"title": "立案审批表"}, headers=f.h("wang"))
    assert "evidence_id" in problem(title_only, 400, "validation-error")["detail"]
    problem(
        await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": "investigation"}, headers=f.h("wang")),
        409,
        "stage-record-missing",
    )
    # A capture received in the stage is its record, and /records shows it under that stage.
    loose = await _photo(f, cid, "red")
    moved = await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": "investigation"}, headers=f.h("wang"))
    assert moved.status_code == 200, moved.text
    filed_capture = await _photo(f, cid, "blue")
    filed = {"title": "现场勘验笔录", "evidence_id": filed_capture}
    assert (await f.client.post(f"{OFFICE}/cases/{cid}/records", json=filed, headers=f.h("wang"))).status_code == 201
    records = (await f.client.get(f"{OFFICE}/cases/{cid}/records", headers=f.h("wang"))).json()
    listed = [(r["kind"], r["stage"], r["evidence_id"]) for r in records]
    # The filed capture is listed once, as the filed document.
    assert listed == [("capture", "initiation", loose), ("document", "investigation", filed_capture)]
    assert records[0]["title"] == "red.jpg"


@pytest.mark.requirement("R-REC-1", "R-REC-6")
async def test_closing_a_case_lists_every_missing_condition_in_one_answer(f):
    case = await open_case(f, assisting=("li",))
    cid = case["id"]
    for stage in ("investigation", "review_decision", "service_execution"):
        await _photo(f, cid, {"investigation": "red", "review_decision": "green", "service_execution": "blue"}[stage])
        moved = await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": stage}, headers=f.h("wang"))
        assert moved.status_code == 200, moved.text
    action = await plan_action(f, cid, kind="inspection", participants=("wang", "li"))
    request = {
        "target_user_id": f.uid("li"),
        "raised_by_kind": "party",
        "raised_by_name": "张某",
        "ground": "close_relative",
        "reasons": "系当事人表弟",
    }
    assert (await f.client.post(f"{OFFICE}/cases/{cid}/recusal-requests", json=request, headers=f.h("wang"))).status_code == 201
    closing = await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": "archived"}, headers=f.h("wang"))
    body = problem(closing, 409, "case-close-blocked")
    assert sorted(m["code"] for m in body["missing"]) == ["action_open", "recusal_request_pending", "stage_record"]
    assert next(m for m in body["missing"] if m["code"] == "action_open")["action_id"] == action["id"]
