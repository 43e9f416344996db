"""R-CERT-5: each action records that every officer showed a valid certificate; exempt action
kinds need a legal citation."""

from __future__ import annotations

import uuid

import pytest

from backend.field.tables import CertificateShown
from backend.ledger.tables import LedgerRow
from tests.factories import MOBILE, OFFICE, Field, check_in, declare, field_team, open_case, plan_action, show_certificate
from tests.integration.field.field_helpers import problem, stamp


@pytest.fixture
async def f(client):
    return await field_team(client)


async def _ready_but_unshown(f: Field, case_id: str) -> str:
    action = await plan_action(f, case_id, kind="inspection", participants=("wang", "li"))
    for name in ("wang", "li"):
        assert (await check_in(f, name, action["id"])).status_code == 201
        assert (await declare(f, name, action["id"])).status_code == 201
    return str(action["id"])


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-5")
async def test_an_action_closes_only_when_every_officer_showed_the_verified_certificate(f):
    case = await open_case(f)
    aid = await _ready_but_unshown(f, case["id"])
    started = await f.client.post(f"{MOBILE}/actions/{aid}/start", json=stamp(), headers=f.h("wang"))
    assert started.status_code == 200, started.text
    # Showing needs the certificate verified at a successful check-in on this very action.
    problem(await show_certificate(f, "zhao", aid), 403, "not-assigned")
    foreign = {"id": str(uuid.uuid4()), "device_time": stamp()["device_time"], "evidence_id": str(uuid.uuid4())}
    problem(await f.client.post(f"{MOBILE}/actions/{aid}/certificate-shown", json=foreign, headers=f.h("wang")), 409, "conflict")
    assert (await show_certificate(f, "wang", aid)).status_code == 201
    assert (await f.client.post(f"{MOBILE}/actions/{aid}/end", json=stamp(), headers=f.h("wang"))).status_code == 200
    refused = problem(
        await f.client.post(f"{MOBILE}/actions/{aid}/close", json=stamp(), headers=f.h("wang")), 409, "certificate-not-shown"
    )
    assert refused["user_ids"] == [f.uid("li")]
    assert (await show_certificate(f, "li", aid)).status_code == 201
    closed = await f.client.post(f"{MOBILE}/actions/{aid}/close", json=stamp(), headers=f.h("wang"))
    assert closed.status_code == 200, closed.text
    rows = await CertificateShown.select(CertificateShown.user, CertificateShown.check_in).where(CertificateShown.action == aid)
    assert len(rows) == 2
    assert all(r["check_in"] is not None for r in rows)
    events = await LedgerRow.select(LedgerRow.event).where(
        (LedgerRow.action_id == aid) & (LedgerRow.event == "action.certificate_shown")
    )
    assert len(events) == 2


@pytest.mark.requirement("R-CERT-5")
async def test_an_exempt_action_kind_needs_a_legal_citation(f):
    exemption = {"action_kind": "inspection", "legal_citation": "《某法》第十条：秘密调查不出示证件"}
    problem(await f.client.post(f"{OFFICE}/certificate-exemptions", json=exemption, headers=f.h("wang")), 403, "forbidden")
    no_citation = {"action_kind": "inspection", "legal_citation": ""}
    problem(
        await f.client.post(f"{OFFICE}/certificate-exemptions", json=no_citation, headers=f.h("zhou")), 400, "validation-error"
    )
    created = await f.client.post(f"{OFFICE}/certificate-exemptions", json=exemption, headers=f.h("zhou"))
    assert created.status_code == 201, created.text
    listed = (await f.client.get(f"{OFFICE}/certificate-exemptions", headers=f.h("wang"))).json()
    assert [(e["action_kind"], e["legal_citation"]) for e in listed] == [("inspection", exemption["legal_citation"])]
    # The exempt kind closes without anyone recording the showing (the first test: others need it).
    case = await open_case(f)
    aid = await _ready_but_unshown(f, case["id"])
    for step in ("start", "end", "close"):
        moved = await f.client.post(f"{MOBILE}/actions/{aid}/{step}", json=stamp(), headers=f.h("wang"))
        assert moved.status_code == 200, moved.text


@pytest.mark.requirement("R-CERT-5")
async def test_an_officer_taken_off_the_action_is_not_waited_for(f):
    case = await open_case(f)
    action = await plan_action(f, case["id"], kind="inspection", participants=("wang", "li", "zhao"), checked_in=("wang", "li"))
    aid = action["id"]
    assert (await check_in(f, "zhao", aid)).status_code == 201
    assert (await declare(f, "zhao", aid)).status_code == 201
    removal = await f.client.post(
        f"{OFFICE}/actions/{aid}/participants/{f.uid('zhao')}/removal", json={"reason": "误排"}, headers=f.h("liu")
    )
    assert removal.status_code == 200, removal.text
    for step in ("start", "end", "close"):
        moved = await f.client.post(f"{MOBILE}/actions/{aid}/{step}", json=stamp(), headers=f.h("wang"))
        assert moved.status_code == 200, moved.text
