"""Work queues over HTTP (issue 14, point 5): gap reasons to approve, recusal requests to
decide, actions whose audio-video coverage is incomplete; agency-scoped, paged, named."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.core import clock
from tests.factories import MOBILE, OFFICE, Field, field_team, open_case, plan_action
from tests.integration.field.field_helpers import problem, stamp

QUEUES = f"{OFFICE}/queues"


@pytest.fixture
async def f(client):
    team = await field_team(client)
    await team.join("ma", ("supervisor",))
    return team


async def _started(f: Field, kind: str = "inspection", **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind=kind, participants=("wang", "li"), checked_in=("wang", "li"), **extra)
    if kind != "inspection":
        session = {"id": str(uuid.uuid4()), "device_id": "phone-wang", "device_time": clock.now().isoformat()}
        opened = await f.client.post(f"{MOBILE}/actions/{action['id']}/recording-sessions", json=session, headers=f.h("wang"))
        assert opened.status_code == 201, opened.text
    started = await f.client.post(f"{MOBILE}/actions/{action['id']}/start", json=stamp(), headers=f.h("wang"))
    assert started.status_code == 200, started.text
    return case, action


async def _gap_reason(f: Field, name: str, action_id: str, text: str) -> dict[str, Any]:
    now = clock.now()
    body = {"gap_start": (now - timedelta(seconds=30)).isoformat(), "gap_end": now.isoformat(), "reason": text}
    recorded = await f.client.post(f"{MOBILE}/actions/{action_id}/gap-reasons", json=body, headers=f.h(name))
    assert recorded.status_code == 201, recorded.text
    return dict(recorded.json())


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-4")
async def test_supervisor_lists_gap_reasons_to_approve_with_case_who_and_since(f):
    case, action = await _started(f)
    first = await _gap_reason(f, "wang", action["id"], "手机电量耗尽，更换设备")
    second = await _gap_reason(f, "li", action["id"], "当事人阻挡镜头")
    queue = (await f.client.get(f"{QUEUES}/gap-reasons", headers=f.h("liu"))).json()
    assert queue["total"] == 2
    assert [i["reason_id"] for i in queue["items"]] == [first["id"], second["id"]]  # oldest first
    item = queue["items"][0]
    assert (item["case_id"], item["case_reference"], item["case_title"]) == (case["id"], case["reference"], case["title"])
    assert (item["action_id"], item["action_kind"], item["duration_s"]) == (action["id"], "inspection", 30.0)
    wang = f.people["wang"].user
    assert (item["recorded_by"], item["recorded_by_name"], item["recorded_by_role"]) == (str(wang.id), wang.full_name, "officer")
    assert item["since"]
    # Paged in a stable order.
    page = (await f.client.get(f"{QUEUES}/gap-reasons", params={"limit": 1, "offset": 1}, headers=f.h("liu"))).json()
    assert [i["reason_id"] for i in page["items"]] == [second["id"]]
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    # Approved reasons leave the queue.
    url = f"{OFFICE}/actions/{action['id']}/gap-reasons/{first['id']}/approve"
    assert (await f.client.post(url, headers=f.h("liu"))).status_code == 200
    queue = (await f.client.get(f"{QUEUES}/gap-reasons", headers=f.h("liu"))).json()
    assert [i["reason_id"] for i in queue["items"]] == [second["id"]]


@pytest.mark.requirement("R-REC-4")
async def test_a_supervisor_does_not_see_their_own_gap_reason_to_approve(f):
    _, action = await _started(f)
    own = await _gap_reason(f, "liu", action["id"], "现场秩序混乱，暂停录制")
    mine = (await f.client.get(f"{QUEUES}/gap-reasons", headers=f.h("liu"))).json()
    assert mine["items"] == []
    theirs = (await f.client.get(f"{QUEUES}/gap-reasons", headers=f.h("ma"))).json()
    assert [i["reason_id"] for i in theirs["items"]] == [own["id"]]
    assert theirs["items"][0]["recorded_by_role"] == "supervisor"


@pytest.mark.both_engines
@pytest.mark.requirement("R-RCS-4")
async def test_recusal_requests_to_decide_name_the_person_challenged(f):
    case = await open_case(f)
    request = {
        "target_user_id": f.uid("li"),
        "raised_by_kind": "party",
        "raised_by_name": "张三",
        "ground": "close_relative",
        "reasons": "李某系当事人表兄",
    }
    raised = await f.client.post(f"{OFFICE}/cases/{case['id']}/recusal-requests", json=request, headers=f.h("wang"))
    assert raised.status_code == 201, raised.text
    for reader in ("liu", "zhou"):  # the supervisor, or the agency head (admin)
        queue = (await f.client.get(f"{QUEUES}/recusal-requests", headers=f.h(reader))).json()
        assert queue["total"] == 1
        item = queue["items"][0]
        assert (item["request_id"], item["case_reference"], item["ground"]) == (
            raised.json()["id"],
            case["reference"],
            "close_relative",
        )
        assert (item["target_user_name"], item["target_user_role"]) == (f.people["li"].user.full_name, "officer")
        assert (item["raised_by_name"], item["recorded_by_name"]) == ("张三", f.people["wang"].user.full_name)
    url = f"{OFFICE}/cases/{case['id']}/recusal-requests/{raised.json()['id']}/decision"
    assert (await f.client.post(url, json={"upheld": True, "reasons": "属实"}, headers=f.h("liu"))).status_code == 200
    assert (await f.client.get(f"{QUEUES}/recusal-requests", headers=f.h("liu"))).json()["items"] == []


@pytest.mark.requirement("R-REC-2", "R-REC-4")
async def test_ended_impound_with_a_recording_gap_waits_until_its_reason_is_approved(f):
    reason = {"coercion_reason": "当事人拒不停止销售假冒商品，先行扣押以防转移"}
    case, action = await _started(f, kind="impound", **reason)
    aid = action["id"]
    routine_case, routine = await _started(f)  # an inspection: no mandatory recording
    later = clock.now() + timedelta(minutes=2)
    with clock.frozen_clock(later):
        for ended in (aid, routine["id"]):
            done = await f.client.post(f"{MOBILE}/actions/{ended}/end", json=stamp(), headers=f.h("wang"))
            assert done.status_code == 200, done.text
        queue = (await f.client.get(f"{QUEUES}/coverage-incomplete", headers=f.h("liu"))).json()
        assert [i["action_id"] for i in queue["items"]] == [aid]
        item = queue["items"][0]
        assert (item["case_reference"], item["action_kind"], item["gaps"], item["gaps_without_reason"]) == (
            case["reference"],
            "impound",
            1,
            1,
        )
        assert {p["user_name"] for p in item["participants"]} == {
            f.people["wang"].user.full_name,
            f.people["li"].user.full_name,
        }
        body = {
            "gap_start": (datetime.fromisoformat(item["started_at"]) - timedelta(seconds=1)).isoformat(),
            "gap_end": (later + timedelta(seconds=1)).isoformat(),
            "reason": "执法记录仪故障，全程未能录制",
        }
        recorded = await f.client.post(f"{MOBILE}/actions/{aid}/gap-reasons", json=body, headers=f.h("wang"))
        assert recorded.status_code == 201, recorded.text
        queue = (await f.client.get(f"{QUEUES}/coverage-incomplete", headers=f.h("liu"))).json()
        assert (queue["items"][0]["gaps_without_reason"], queue["items"][0]["reasons_to_approve"]) == (0, 1)
        url = f"{OFFICE}/actions/{aid}/gap-reasons/{recorded.json()['id']}/approve"
        assert (await f.client.post(url, headers=f.h("liu"))).status_code == 200
        queue = (await f.client.get(f"{QUEUES}/coverage-incomplete", headers=f.h("liu"))).json()
        assert queue == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert routine_case["id"] != case["id"]


async def test_queues_are_for_their_roles_and_never_show_another_agency(f, client):
    _, action = await _started(f)
    await _gap_reason(f, "wang", action["id"], "信号中断")
    for path in ("gap-reasons", "coverage-incomplete"):
        problem(await f.client.get(f"{QUEUES}/{path}", headers=f.h("wang")), 403, "forbidden")
        problem(await f.client.get(f"{QUEUES}/{path}", headers=f.h("zhou")), 403, "forbidden")
    problem(await f.client.get(f"{QUEUES}/recusal-requests", headers=f.h("wang")), 403, "forbidden")
    other = await field_team(client)
    assert (await f.client.get(f"{QUEUES}/gap-reasons", headers=other.h("liu"))).json()["total"] == 0
    assert (await f.client.get(f"{QUEUES}/gap-reasons")).status_code == 401
    bad = await f.client.get(f"{QUEUES}/gap-reasons", params={"limit": 0}, headers=f.h("liu"))
    assert bad.status_code == 400, bad.text


async def test_summary_counts_each_queue_the_callers_roles_read(f):
    _, action = await _started(f)
    await _gap_reason(f, "wang", action["id"], "信号中断")
    supervisor = (await f.client.get(QUEUES, headers=f.h("liu"))).json()
    assert supervisor == {
        "gap_reasons": 1,
        "recusal_requests": 0,
        "coverage_incomplete": 0,
        "reviews": None,
        "certificates_expiring": None,
        "complaints_overdue": 0,
        "complaints_due_soon": 0,
    }
    admin = (await f.client.get(QUEUES, headers=f.h("zhou"))).json()
    assert (admin["gap_reasons"], admin["recusal_requests"], admin["certificates_expiring"]) == (None, 0, 0)
    officer = (await f.client.get(QUEUES, headers=f.h("wang"))).json()
    assert set(officer.values()) == {None}


async def test_a_closed_actions_reasons_leave_the_queue(f):
    """An inspection need not be recorded end to end: it closes with an unapproved reason,
    which then blocks nothing and waits for no one."""
    _, action = await _started(f)
    await _gap_reason(f, "wang", action["id"], "信号中断")
    assert (await f.client.get(f"{QUEUES}/gap-reasons", headers=f.h("liu"))).json()["total"] == 1
    for step in ("end", "close"):
        done = await f.client.post(f"{MOBILE}/actions/{action['id']}/{step}", json=stamp(), headers=f.h("wang"))
        assert done.status_code == 200, done.text
    assert (await f.client.get(f"{QUEUES}/gap-reasons", headers=f.h("liu"))).json()["total"] == 0
