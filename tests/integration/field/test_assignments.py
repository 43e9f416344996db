"""Who is on a case: handlers declare before they are assigned (R-RCS-2), and a wrongly
assigned officer or planned participant is taken off with a reason (issue 14, found #6/#9)."""

from __future__ import annotations

import pytest

from backend.field.tables import ActionParticipant, CaseOfficer, CheckIn, RecusalDeclaration
from backend.ledger.tables import LedgerRow
from tests.factories import NO_CONFLICT, OFFICE, case_body, field_team, open_case, plan_action
from tests.integration.field.field_helpers import problem


@pytest.fixture
async def f(client):
    return await field_team(client)


@pytest.mark.requirement("R-RCS-2")
async def test_the_lead_declares_in_the_request_that_opens_the_case(f):
    undeclared = {k: v for k, v in case_body(f).items() if k != "declaration"}
    refused = problem(await f.client.post(f"{OFFICE}/cases", json=undeclared, headers=f.h("wang")), 409, "recusal-not-declared")
    assert [m["user_id"] for m in refused["missing"]] == [f.uid("wang")]
    # A supervisor cannot make 王 lead without 王's own declaration (found #9), nor list
    # others who have not declared: every one of them is named in the one answer.
    body = case_body(f)
    body["officers"] += [{"user_id": f.uid("li"), "role": "assisting"}]
    by_supervisor = problem(await f.client.post(f"{OFFICE}/cases", json=body, headers=f.h("liu")), 409, "recusal-not-declared")
    assert {m["user_id"] for m in by_supervisor["missing"]} == {f.uid("wang"), f.uid("li")}
    conflict = {**case_body(f), "declaration": {"conflict": True, "ground": "close_relative", "statement": "当事人系本人表兄"}}
    problem(await f.client.post(f"{OFFICE}/cases", json=conflict, headers=f.h("wang")), 409, "recusal-not-declared")
    assert await CaseOfficer.count() == 0
    opened = await f.client.post(f"{OFFICE}/cases", json=case_body(f), headers=f.h("wang"))
    assert opened.status_code == 201, opened.text
    declarations = (await f.client.get(f"{OFFICE}/cases/{opened.json()['id']}/recusals", headers=f.h("wang"))).json()
    assert [(d["user_id"], d["action_id"], d["conflict"]) for d in declarations] == [(f.uid("wang"), None, False)]


@pytest.mark.requirement("R-RCS-2")
async def test_an_assisting_officer_declares_on_the_case_before_being_assigned(f):
    case = await open_case(f, assisting=())
    cid = case["id"]
    assign = {"user_id": f.uid("li"), "role": "assisting"}
    refused = problem(
        await f.client.post(f"{OFFICE}/cases/{cid}/officers", json=assign, headers=f.h("liu")), 409, "recusal-not-declared"
    )
    assert refused["missing"][0]["user_id"] == f.uid("li")
    declared = await f.client.post(f"{OFFICE}/cases/{cid}/handler-declarations", json=NO_CONFLICT, headers=f.h("li"))
    assert declared.status_code == 201, declared.text
    assert declared.json()["action_id"] is None
    # Immutable: a second declaration is refused, not a change of mind.
    problem(
        await f.client.post(f"{OFFICE}/cases/{cid}/handler-declarations", json=NO_CONFLICT, headers=f.h("li")),
        409,
        "recusal-already-declared",
    )
    assert (await f.client.post(f"{OFFICE}/cases/{cid}/officers", json=assign, headers=f.h("liu"))).status_code == 201
    # A declared conflict blocks the assignment (R-RCS-4).
    conflict = {"conflict": True, "ground": "direct_interest", "statement": "本人持有当事人股份"}
    assert (
        await f.client.post(f"{OFFICE}/cases/{cid}/handler-declarations", json=conflict, headers=f.h("zhao"))
    ).status_code == 201
    blocked = {"user_id": f.uid("zhao"), "role": "assisting"}
    problem(await f.client.post(f"{OFFICE}/cases/{cid}/officers", json=blocked, headers=f.h("liu")), 409, "conflict")
    # A conflict names its ground; "no conflict" names none.
    problem(
        await f.client.post(f"{OFFICE}/cases/{cid}/handler-declarations", json={"conflict": True}, headers=f.h("qian")),
        422,
        "invalid-input",
    )


async def test_a_wrongly_planned_participant_is_taken_off_with_a_reason(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li", "zhao"), checked_in=("zhao",))
    aid = action["id"]
    url = f"{OFFICE}/actions/{aid}/participants/{f.uid('zhao')}/removal"
    problem(await f.client.post(url, json={"reason": "误排"}, headers=f.h("wang")), 403, "forbidden")
    problem(await f.client.post(url, json={"reason": ""}, headers=f.h("liu")), 400, "validation-error")
    removed = await f.client.post(url, json={"reason": "误排：赵另有任务"}, headers=f.h("liu"))
    assert removed.status_code == 200, removed.text
    zhao = next(p for p in removed.json()["participants"] if p["user_id"] == f.uid("zhao"))
    assert zhao["removed"] is True
    assert "误排" in zhao["removed_reason"]
    # What 赵 did stays: the check-in and the declaration are evidence.
    assert await CheckIn.count().where(CheckIn.user == f.uid("zhao")) == 1
    assert await RecusalDeclaration.count().where(RecusalDeclaration.user == f.uid("zhao")) >= 2
    problem(await f.client.post(url, json={"reason": "again"}, headers=f.h("liu")), 404, "not-found")
    events = await LedgerRow.select(LedgerRow.event).where(LedgerRow.action_id == aid)
    assert "action.participant_removed" in [e["event"] for e in events]


async def test_a_wrongly_assigned_officer_is_taken_off_the_case_and_its_open_actions(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "qian"))
    url = f"{OFFICE}/cases/{case['id']}/officers/{f.uid('qian')}/removal"
    problem(await f.client.post(url, json={"reason": "误派"}, headers=f.h("wang")), 403, "forbidden")
    removed = await f.client.post(url, json={"reason": "误派：钱不属本案承办"}, headers=f.h("liu"))
    assert removed.status_code == 200, removed.text
    qian = next(o for o in removed.json()["officers"] if o["user_id"] == f.uid("qian"))
    assert qian["removed"] is True
    assert "误派" in qian["removed_reason"]
    assert await ActionParticipant.exists().where(
        (ActionParticipant.action == action["id"])
        & (ActionParticipant.user == f.uid("qian"))
        & ActionParticipant.removed_at.is_not_null()
    )
    assert await RecusalDeclaration.count().where(RecusalDeclaration.user == f.uid("qian")) == 1
    events = await LedgerRow.select(LedgerRow.event, LedgerRow.details).where(LedgerRow.event == "case.officer_removed")
    assert len(events) == 1
    assert "误派" in events[0]["details"]
