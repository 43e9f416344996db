"""Tests that fail when the rule is taken out of the code (issue 14, found #17): a forced
demolition is recorded end to end (R-REC-2), and nobody decides a recusal request against
themselves (R-RCS-4)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.core import clock
from backend.field import execution_basis
from tests.factories import MOBILE, NO_CONFLICT, OFFICE, field_team, open_case, plan_action
from tests.integration.field.field_helpers import problem, stamp


@pytest.fixture
async def f(client):
    return await field_team(client)


@pytest.mark.requirement("R-REC-2", "R-REC-3")
async def test_a_forced_demolition_cannot_start_without_a_running_recording(f):
    case = await open_case(f)
    # The decision behind it, served long ago and its periods run (see test_demolition_basis).
    long_ago = clock.now() - timedelta(days=300)
    await execution_basis.record(
        principal=f.people["liu"].principal,
        served=execution_basis.ServedDecision(
            case_id=uuid.UUID(case["id"]),
            decision_id=uuid.uuid4(),
            decision_no="新综执罚〔2026〕8号",
            issued_at=long_ago,
            served_at=long_ago,
            service_method="direct",
            recipient="张某某",
            proof_evidence_id=uuid.uuid4(),
            announcement_ref="新综执告〔2026〕8号",
            compliance_deadline=long_ago + timedelta(days=30),
            remedy_period_end=long_ago + timedelta(days=200),
        ),
    )
    action = await plan_action(
        f,
        case["id"],
        kind="forced_demolition",
        participants=("wang", "li"),
        checked_in=("wang", "li"),
        coercion_reason="当事人逾期不自行拆除，经催告仍不履行",
    )
    assert action["requires_av"] is True
    blocked = problem(
        await f.client.post(f"{MOBILE}/actions/{action['id']}/start", json=stamp(), headers=f.h("wang")),
        409,
        "action-start-blocked",
    )
    assert [m["code"] for m in blocked["missing"]] == ["recording_session"]


@pytest.mark.requirement("R-RCS-4")
async def test_no_one_decides_a_recusal_request_against_themselves(f):
    case = await open_case(f, assisting=())
    cid = case["id"]
    # 刘, a supervisor, is also on the case; the party challenges him.
    assert (
        await f.client.post(f"{OFFICE}/cases/{cid}/handler-declarations", json=NO_CONFLICT, headers=f.h("liu"))
    ).status_code == 201
    joined = await f.client.post(
        f"{OFFICE}/cases/{cid}/officers", json={"user_id": f.uid("liu"), "role": "assisting"}, headers=f.h("zhou")
    )
    assert joined.status_code == 201, joined.text
    request = {
        "target_user_id": f.uid("liu"),
        "raised_by_kind": "party",
        "raised_by_name": "张某",
        "ground": "other_relationship",
        "reasons": "刘某与当事人有经济往来",
    }
    raised = await f.client.post(f"{OFFICE}/cases/{cid}/recusal-requests", json=request, headers=f.h("wang"))
    assert raised.status_code == 201, raised.text
    url = f"{OFFICE}/cases/{cid}/recusal-requests/{raised.json()['id']}/decision"
    decision = {"upheld": False, "reasons": "理由不成立"}
    problem(await f.client.post(url, json=decision, headers=f.h("liu")), 409, "conflict")
    pending = (await f.client.get(f"{OFFICE}/cases/{cid}/recusal-requests", headers=f.h("zhou"))).json()
    assert [r["status"] for r in pending] == ["pending"]
    # The agency head decides instead (R-RCS-4).
    decided = await f.client.post(url, json=decision, headers=f.h("zhou"))
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "rejected"
