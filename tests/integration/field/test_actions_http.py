"""Actions over HTTP: check-in, recusal, start gate, scoping, idempotent phone writes, bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from backend.core import clock
from backend.field.tables import CheckIn, RecusalDeclaration, RecusalRequest
from tests.factories import (
    GPS,
    MOBILE,
    OFFICE,
    Field,
    bearer,
    check_in,
    declare,
    field_team,
    open_case,
    person,
    plan_action,
    show_certificate,
)
from tests.integration.field.field_helpers import problem, stamp


@pytest.fixture
async def f(client):
    return await field_team(client)


async def _inspection(f: Field, participants: tuple[str, ...] = ("wang", "li")) -> tuple[dict[str, Any], dict[str, Any]]:
    case = await open_case(f)
    return case, await plan_action(f, case["id"], kind="inspection", participants=participants)


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-4", "R-RCS-3")
async def test_routine_inspection_starts_after_two_check_ins_and_declarations(f):
    _, action = await _inspection(f)
    aid = action["id"]
    for name in ("wang", "li"):
        response = await check_in(f, name, aid)
        assert response.status_code == 201, response.text
        assert response.json()["allowed"] is True
        assert (await declare(f, name, aid)).status_code == 201
    stored = await CheckIn.select().where(CheckIn.action == aid)
    assert len(stored) == 2
    assert all(r["snapshot_token"].count(".") == 2 and '"allowed":true' in r["snapshot"] for r in stored)
    started = await f.client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang"))
    assert started.status_code == 200, started.text
    transition = started.json()["transitions"][0]
    assert transition["location"] == GPS
    assert transition["device_time"] is not None
    assert transition["skew_flagged"] is False


@pytest.mark.requirement("R-CERT-4")
async def test_retried_check_in_is_the_same_record(f):
    _, action = await _inspection(f)
    check_in_id = str(uuid.uuid4())
    first = await check_in(f, "wang", action["id"], check_in_id=check_in_id)
    again = await check_in(f, "wang", action["id"], check_in_id=check_in_id)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await CheckIn.count().where(CheckIn.action == action["id"]) == 1
    stolen = await check_in(f, "li", action["id"], check_in_id=check_in_id)
    problem(stolen, 409, "conflict")


async def test_device_clock_skew_is_recorded_and_flagged(f):
    _, action = await _inspection(f)
    body = {"id": str(uuid.uuid4()), "device_id": "phone-wang", "device_time": "2020-01-01T00:00:00+08:00", "location": GPS}
    response = await f.client.post(f"{MOBILE}/actions/{action['id']}/check-ins", json=body, headers=f.h("wang"))
    assert response.status_code == 201
    assert response.json()["skew_flagged"] is True
    assert response.json()["skew_s"] < -1e7


@pytest.mark.requirement("R-CERT-4")
async def test_officer_without_certificate_is_refused_and_refusal_stored(f):
    newcomer = await f.join("new")
    case = await open_case(f, assisting=("new",))
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "new"))
    body = problem(await check_in(f, "new", action["id"]), 409, "certificate-not-found")
    assert body["reason"] == "not_found"
    row = await CheckIn.select().where(CheckIn.user == newcomer.user.id).first()
    assert row is not None
    assert row["allowed"] is False
    assert row["reason"] == "not_found"


async def test_only_assigned_participants_check_in(f):
    _, action = await _inspection(f)
    problem(await check_in(f, "qian", action["id"]), 403, "not-assigned")
    problem(await check_in(f, "liu", action["id"]), 403, "not-assigned")


@pytest.mark.requirement("R-RCS-1")
async def test_declarations_are_immutable_and_grounds_checked(f):
    _, action = await _inspection(f)
    aid = action["id"]
    url = f"{MOBILE}/actions/{aid}/recusals"
    no_ground = {"id": str(uuid.uuid4()), "conflict": True}
    problem(await f.client.post(url, json=no_ground, headers=f.h("wang")), 422, "invalid-input")
    stray_ground = {"id": str(uuid.uuid4()), "conflict": False, "ground": "direct_interest"}
    problem(await f.client.post(url, json=stray_ground, headers=f.h("wang")), 422, "invalid-input")
    bad_ground = {"id": str(uuid.uuid4()), "conflict": True, "ground": "dislikes_party"}
    problem(await f.client.post(url, json=bad_ground, headers=f.h("wang")), 400, "validation-error")
    assert (await declare(f, "wang", aid)).status_code == 201
    problem(await declare(f, "wang", aid, ground="direct_interest"), 409, "recusal-already-declared")
    rows = await RecusalDeclaration.select().where(RecusalDeclaration.action == aid)
    assert [(r["conflict"], r["ground"]) for r in rows] == [(False, "")]


@pytest.mark.both_engines
@pytest.mark.requirement("R-RCS-4")
async def test_party_recusal_request_blocks_until_decided_with_reasons(f):
    case, action = await _inspection(f)
    cid, aid = case["id"], action["id"]
    request = {
        "target_user_id": f.uid("li"),
        "raised_by_kind": "party",
        "raised_by_name": "张三",
        "ground": "other_relationship",
        "reasons": "李某与当事人有经济纠纷",
    }
    raised = await f.client.post(f"{OFFICE}/cases/{cid}/recusal-requests", json=request, headers=f.h("wang"))
    assert raised.status_code == 201, raised.text
    rid = raised.json()["id"]
    for name in ("wang", "li"):
        await check_in(f, name, aid)
        await declare(f, name, aid)
    blocked = problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang")), 409, "action-start-blocked"
    )
    assert [m["code"] for m in blocked["missing"]] == ["recusal_blocked"]
    url = f"{OFFICE}/cases/{cid}/recusal-requests/{rid}/decision"
    problem(await f.client.post(url, json={"upheld": False, "reasons": "无"}, headers=f.h("wang")), 403, "forbidden")
    problem(await f.client.post(url, json={"upheld": False, "reasons": ""}, headers=f.h("liu")), 400, "validation-error")
    decided = await f.client.post(url, json={"upheld": True, "reasons": "经核实存在经济往来，应当回避"}, headers=f.h("liu"))
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld"
    assert decided.json()["decided_by"] == f.uid("liu")
    problem(await f.client.post(url, json={"upheld": False, "reasons": "改判"}, headers=f.h("liu")), 409, "conflict")
    row = await RecusalRequest.select().where(RecusalRequest.id == rid).first()
    assert row is not None
    assert row["decision_reasons"] == "经核实存在经济往来，应当回避"
    detail = (await f.client.get(f"{OFFICE}/actions/{aid}", headers=f.h("liu"))).json()
    assert next(p for p in detail["participants"] if p["user_id"] == f.uid("li"))["removed"] is True
    # R-RCS-4: no reassignment to the case.
    again = await f.client.post(
        f"{OFFICE}/cases/{cid}/officers", json={"user_id": f.uid("li"), "role": "assisting"}, headers=f.h("liu")
    )
    problem(again, 409, "conflict")


@pytest.mark.requirement("R-REC-3", "R-DISC-6")
async def test_seal_up_needs_recording_and_coercion_reason(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="seal_up", participants=("wang", "li"), checked_in=("wang", "li"))
    aid = action["id"]
    blocked = problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang")), 409, "action-start-blocked"
    )
    assert sorted(m["code"] for m in blocked["missing"]) == ["coercion_reason", "recording_session"]
    session_id = str(uuid.uuid4())
    body = {"id": session_id, "device_id": "phone-li", "device_time": clock.now().isoformat()}
    assert (await f.client.post(f"{MOBILE}/actions/{aid}/recording-sessions", json=body, headers=f.h("li"))).status_code == 201
    closed = await f.client.post(
        f"{MOBILE}/actions/{aid}/recording-sessions/{session_id}/close",
        json={"device_time": clock.now().isoformat()},
        headers=f.h("li"),
    )
    assert closed.status_code == 200
    assert closed.json()["closed_at"] is not None
    reason = {"reason": "当事人拒不停止违法生产，先行查封以防证据灭失"}
    await f.client.post(f"{OFFICE}/actions/{aid}/coercion-reason", json=reason, headers=f.h("wang"))
    blocked = problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang")), 409, "action-start-blocked"
    )
    assert [m["code"] for m in blocked["missing"]] == ["recording_session"]


@pytest.mark.requirement("R-REC-4")
async def test_inspection_closes_without_video_and_state_machine_is_enforced(f):
    _, action = await _inspection(f)
    aid = action["id"]
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/end", json=stamp(), headers=f.h("wang")), 409, "illegal-transition")
    for name in ("wang", "li"):
        await check_in(f, name, aid)
        await declare(f, name, aid)
        await show_certificate(f, name, aid)  # R-CERT-5, before the action closes
    for step in ("start", "end", "close"):
        response = await f.client.post(f"{MOBILE}/actions/{aid}/{step}", json=stamp(), headers=f.h("wang"))
        assert response.status_code == 200, response.text
    retried = await f.client.post(f"{MOBILE}/actions/{aid}/close", json=stamp(), headers=f.h("wang"))
    assert retried.status_code == 200
    assert [t["to_state"] for t in retried.json()["transitions"]] == ["in_progress", "ended", "closed"]
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang")), 409, "illegal-transition")
    problem(await check_in(f, "li", aid), 409, "illegal-transition")


async def test_checklist_and_me_drive_the_phone(f):
    _, action = await _inspection(f)
    aid = action["id"]
    checklist = (await f.client.get(f"{MOBILE}/actions/{aid}", headers=f.h("wang"))).json()
    assert checklist["ready_to_start"] is False
    assert checklist["required_check_ins"] == 2
    assert checklist["valid_check_ins"] == 0
    assert sorted(checklist["recusals_missing_user_ids"]) == sorted([f.uid("wang"), f.uid("li")])
    assert "check_ins" in checklist["missing"]
    await check_in(f, "wang", aid)
    await declare(f, "wang", aid)
    checklist = (await f.client.get(f"{MOBILE}/actions/{aid}", headers=f.h("wang"))).json()
    assert checklist["valid_check_ins"] == 1
    assert checklist["recusals_missing_user_ids"] == [f.uid("li")]
    me = (await f.client.get(f"{MOBILE}/me", headers=f.h("wang"))).json()
    assert me["user_id"] == f.uid("wang")
    assert me["certificate"]["any_valid"] is True
    assert [a["id"] for a in me["todays_actions"]] == [aid]
    other = (await f.client.get(f"{MOBILE}/me", headers=f.h("qian"))).json()
    assert other["todays_actions"] == []


@pytest.mark.both_engines
async def test_another_agency_gets_404_on_every_action_endpoint(f, client, make_agency):
    _, action = await _inspection(f)
    aid = action["id"]
    stranger_agency = await make_agency()
    stranger = await person(["officer", "supervisor", "admin"], stranger_agency)
    h = bearer(client.app, stranger)
    rid = uuid.uuid4()
    checks = [
        ("get", f"{MOBILE}/actions/{aid}", None),
        (
            "post",
            f"{MOBILE}/actions/{aid}/check-ins",
            {"id": str(uuid.uuid4()), "device_id": "p", "device_time": clock.now().isoformat(), "location": GPS},
        ),
        ("post", f"{MOBILE}/actions/{aid}/recusals", {"id": str(uuid.uuid4()), "conflict": False}),
        (
            "post",
            f"{MOBILE}/actions/{aid}/recording-sessions",
            {"id": str(uuid.uuid4()), "device_id": "p", "device_time": clock.now().isoformat()},
        ),
        ("post", f"{MOBILE}/actions/{aid}/recording-sessions/{rid}/close", {"device_time": clock.now().isoformat()}),
        ("post", f"{MOBILE}/actions/{aid}/start", stamp()),
        ("post", f"{MOBILE}/actions/{aid}/end", stamp()),
        ("post", f"{MOBILE}/actions/{aid}/close", stamp()),
        ("get", f"{MOBILE}/actions/{aid}/coverage", None),
        (
            "post",
            f"{MOBILE}/actions/{aid}/gap-reasons",
            {"gap_start": "2026-01-01T00:00:00Z", "gap_end": "2026-01-01T00:01:00Z", "reason": "x"},
        ),
        ("get", f"{MOBILE}/actions/{aid}/manifests/{rid}", None),
        ("get", f"{OFFICE}/actions/{aid}", None),
        ("post", f"{OFFICE}/actions/{aid}/participants", {"user_id": str(stranger.user.id)}),
        ("post", f"{OFFICE}/actions/{aid}/coercion-reason", {"reason": "x"}),
        ("post", f"{OFFICE}/actions/{aid}/close", stamp()),
        ("get", f"{OFFICE}/actions/{aid}/coverage", None),
        ("post", f"{OFFICE}/actions/{aid}/coverage/reports", None),
        ("get", f"{OFFICE}/actions/{aid}/coverage/reports", None),
        ("get", f"{OFFICE}/actions/{aid}/gap-reasons", None),
        ("post", f"{OFFICE}/actions/{aid}/gap-reasons/{rid}/approve", None),
    ]
    for method, path, body in checks:
        kwargs = {"headers": h} if body is None else {"headers": h, "json": body}
        response = await getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, (path, response.text)
    planned = {
        "case_id": action["case_id"],
        "kind": "inspection",
        "planned_at": clock.now().isoformat(),
        "participant_ids": [str(stranger.user.id)],
    }
    problem(await client.post(f"{OFFICE}/actions", json=planned, headers=h), 404, "not-found")


NOW = "2026-03-01T09:00:00+08:00"
BAD_BODIES = [
    ("check-ins", {"id": "not-a-uuid", "device_id": "p", "device_time": NOW, "location": GPS}, "id"),
    ("check-ins", {"id": str(uuid.uuid4()), "device_id": "", "device_time": NOW, "location": GPS}, "device_id"),
    ("check-ins", {"id": str(uuid.uuid4()), "device_id": "p", "device_time": "yesterday", "location": GPS}, "device_time"),
    (
        "check-ins",
        {"id": str(uuid.uuid4()), "device_id": "p", "device_time": NOW, "location": {**GPS, "latitude": 91}},
        "latitude",
    ),
    ("check-ins", {"id": str(uuid.uuid4()), "device_id": "p", "device_time": NOW}, "location"),
    ("check-ins", {"id": str(uuid.uuid4()), "device_id": "p", "device_time": NOW, "location": GPS, "extra": 1}, "extra"),
    ("recusals", {"id": str(uuid.uuid4())}, "conflict"),
    ("recusals", {"id": str(uuid.uuid4()), "conflict": "maybe"}, "conflict"),
    ("recording-sessions", {"id": str(uuid.uuid4()), "device_id": "p q", "device_time": NOW}, "device_id"),
    ("start", {"device_time": NOW, "location": {**GPS, "accuracy_m": -1}}, "accuracy_m"),
    ("end", {}, "device_time"),
    ("close", {"device_time": NOW, "location": {**GPS, "longitude": 181}}, "longitude"),
    ("gap-reasons", {"gap_start": NOW, "gap_end": NOW, "reason": ""}, "reason"),
    ("manifests", {"payload": "{}", "signature": "short"}, "signature"),
]


@pytest.mark.parametrize(("endpoint", "body", "field"), BAD_BODIES)
async def test_bad_phone_input_is_400_naming_the_field(f, endpoint, body, field):
    _, action = await _inspection(f)
    response = await f.client.post(f"{MOBILE}/actions/{action['id']}/{endpoint}", json=body, headers=f.h("wang"))
    problem_body = problem(response, 400, "validation-error")
    assert field in (problem_body.get("field") or "") + problem_body["detail"]
    assert await CheckIn.count() == 0


OFFICE_BAD = [
    ("actions", {"case_id": "x", "kind": "inspection", "planned_at": NOW, "participant_ids": []}, "case_id"),
    (
        "actions",
        {"case_id": str(uuid.uuid4()), "kind": "raid", "planned_at": NOW, "participant_ids": [str(uuid.uuid4())]},
        "kind",
    ),
    (
        "actions",
        {"case_id": str(uuid.uuid4()), "kind": "inspection", "planned_at": NOW, "participant_ids": []},
        "participant_ids",
    ),
    ("devices/not-a-uuid/revoke", None, None),
]


@pytest.mark.parametrize(("endpoint", "body", "field"), OFFICE_BAD)
async def test_bad_office_input(f, endpoint, body, field):
    response = await f.client.post(f"{OFFICE}/{endpoint}", json=body, headers=f.h("zhou"))
    if field is None:
        assert response.status_code in (400, 404), response.text
        return
    problem_body = problem(response, 400, "validation-error")
    assert field in (problem_body.get("field") or "") + problem_body["detail"]


async def test_bad_path_ids_and_missing_token(f):
    response = await f.client.get(f"{MOBILE}/actions/not-a-uuid", headers=f.h("wang"))
    assert response.status_code in (400, 404)
    problem(await f.client.get(f"{MOBILE}/actions/{uuid.uuid4()}", headers=f.h("wang")), 404, "not-found")
    problem(await f.client.get(f"{MOBILE}/me"), 401, "unauthorized")
