"""Entrusted bodies act only within the entrustment's typed authority and term (R-AGY-5);
agencies are confirmed by the registry with their announcement (R-AGY-1). Issue 14, point 3."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from backend.core import clock
from backend.ledger.tables import LedgerRow
from backend.org import schemas as org_schemas
from backend.org import service as org_service
from backend.org.piccolo_migrations.org_2026_12_02t09_45_33_000000 import kinds_named
from backend.org.tables import Agency, Entrustment
from tests.factories import GPS, MOBILE, OFFICE, bearer
from tests.integration.field.field_helpers import problem


async def _township(make_agency: Any, make_person: Any, **entrustment: Any) -> dict[str, Any]:
    """自然资源局 entrusts a township with land inspections only; 陈 works there."""
    entruster = await make_agency(matters=["land_inspection"], domains=["land_use"])
    township = await make_agency(kind="entrusted_organisation", matters=[], domains=[])
    boss = await make_person(roles=["admin"], agency=entruster)
    now = clock.now()
    data = {
        "entrusted_agency_id": str(township.id),
        "legal_basis": "《中华人民共和国行政处罚法》第二十条",
        "matters": ["land_inspection"],
        "domains": ["land_use"],
        "action_kinds": ["inspection"],
        "authority": "现场检查、制作检查笔录",
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "letter_ref": "新自然资委〔2026〕3号",
        **entrustment,
    }
    found = await org_service.create_entrustment(principal=boss.principal, data=msgspec.convert(data, org_schemas.EntrustmentIn))
    chen = await make_person(agency=township, certified=["land_use"])
    return {"entruster": entruster, "township": township, "chen": chen, "entrustment": found}


def _case_body(lead: Any, matter: str = "land_inspection", domain: str = "land_use") -> dict[str, Any]:
    """A case the lead opens, declaring on the recusal grounds as they do (R-RCS-2)."""
    return {
        "kind": "inspection",
        "title": "某村土地利用现场检查",
        "matter": matter,
        "domain": domain,
        "legal_basis": "《中华人民共和国土地管理法》第六十七条",
        "party": {"kind": "person", "name": "某村民"},
        "officers": [{"user_id": str(lead.user.id), "role": "lead"}],
        "declaration": {"conflict": False, "statement": "本人与当事人无利害关系"},
    }


async def _open_land_case(client: Any, chen: Any) -> dict[str, Any]:
    response = await client.post(f"{OFFICE}/cases", json=_case_body(chen), headers=bearer(client.app, chen))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _plan(case_id: str, chen: Any, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "kind": kind,
        "planned_at": clock.now().isoformat(),
        "participant_ids": [str(chen.user.id)],
        "coercion_reason": "当事人拒不停止违法行为，非强制手段不能达到目的",
        **extra,
    }


def _check_in() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "device_id": "phone-chen", "device_time": clock.now().isoformat(), "location": GPS}


@pytest.mark.requirement("R-AGY-5")
async def test_an_entrusted_body_plans_and_checks_in_only_the_acts_it_was_entrusted_with(client, make_agency, make_person):
    setting = await _township(make_agency, make_person)
    chen = setting["chen"]
    headers = bearer(client.app, chen)
    case = await _open_land_case(client, chen)
    # Found #4: entrusted with land inspection only, 陈 plans a forced demolition: refused.
    demolition = await client.post(f"{OFFICE}/actions", json=_plan(case["id"], chen, "forced_demolition"), headers=headers)
    refused = problem(demolition, 403, "domain-not-covered")
    assert refused["field"] == "kind"
    assert "forced_demolition" in refused["detail"]
    inspection = await client.post(f"{OFFICE}/actions", json=_plan(case["id"], chen, "inspection"), headers=headers)
    assert inspection.status_code == 201, inspection.text
    action_id = inspection.json()["id"]
    checked = await client.post(f"{MOBILE}/actions/{action_id}/check-ins", json=_check_in(), headers=headers)
    assert checked.status_code == 201, checked.text
    # Planned beyond the term: refused; after the term ended, the check-in is refused too.
    late = _plan(case["id"], chen, "inspection", planned_at=(clock.now() + timedelta(days=400)).isoformat())
    problem(await client.post(f"{OFFICE}/actions", json=late, headers=headers), 403, "domain-not-covered")
    ended = clock.now() - timedelta(minutes=1)
    await Entrustment.update({Entrustment.valid_until: ended}).where(Entrustment.id == setting["entrustment"].id)
    after = await client.post(f"{MOBILE}/actions/{action_id}/check-ins", json=_check_in(), headers=headers)
    assert "term" in problem(after, 403, "domain-not-covered")["detail"]


@pytest.mark.requirement("R-AGY-5")
async def test_an_entrustment_names_typed_action_kinds_never_free_text(client, make_agency, make_person, auth_headers):
    bureau = await make_agency(matters=["land_inspection"], domains=["land_use"])
    township = await make_agency(kind="entrusted_organisation")
    admin = await make_person(roles=["admin"], agency=bureau)
    payload = {
        "entrusted_agency_id": str(township.id),
        "legal_basis": "《行政处罚法》第二十条",
        "matters": ["land_inspection"],
        "domains": ["land_use"],
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
        "letter_ref": "委托书〔2026〕1号",
    }
    headers = await auth_headers(admin)
    for kinds in (None, [], ["demolish everything"]):
        body = payload if kinds is None else {**payload, "action_kinds": kinds}
        response = await client.post(f"{OFFICE}/entrustments", json=body, headers=headers)
        assert response.status_code == 400, response.text
    created = await client.post(f"{OFFICE}/entrustments", json={**payload, "action_kinds": ["inspection"]}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["action_kinds"] == ["inspection"]


def test_stored_wordings_migrate_to_the_kinds_they_name():
    assert kinds_named("现场检查、制作检查笔录") == ["inspection"]
    assert kinds_named("查封、扣押及强制拆除") == ["forced_demolition", "impound", "seal_up"]
    # A wording that names no act allows none (never everything).
    assert kinds_named("依法履行职责") == []
    assert kinds_named("") == []


@pytest.mark.requirement("R-AGY-1")
async def test_the_registry_confirms_an_agency_with_its_announcement(client, make_agency, make_person):
    pending = await make_agency(subject_status="pending", announcement_no="", announcement_date=None)
    officer = await make_person(agency=pending, certified=True)
    own_admin = await make_person(roles=["admin"], agency=pending)
    justice = await make_agency(kind="justice_bureau")
    registrar = await make_person(roles=["admin"], agency=justice)
    url = f"{OFFICE}/agencies/{pending.id}/confirmation"
    body = {"announcement_no": "新政发〔2026〕12号", "announcement_date": "2026-11-20"}
    # Found #6: a pending agency's officer can do nothing until it is confirmed.
    opening = _case_body(officer, matter=pending.matters[0], domain=pending.domains[0])
    problem(await client.post(f"{OFFICE}/cases", json=opening, headers=bearer(client.app, officer)), 409, "agency-not-confirmed")
    # The agency cannot confirm itself; only the registry (Justice Bureau / county government).
    problem(await client.post(url, json=body, headers=bearer(client.app, own_admin)), 403, "forbidden")
    future = {**body, "announcement_date": (clock.now() + timedelta(days=30)).date().isoformat()}
    problem(await client.post(url, json=future, headers=bearer(client.app, registrar)), 422, "invalid-input")
    confirmed = await client.post(url, json=body, headers=bearer(client.app, registrar))
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["subject_status"], confirmed.json()["announcement_no"]) == ("confirmed", "新政发〔2026〕12号")
    # The same announcement again is the same confirmation; another one is a conflict.
    assert (await client.post(url, json=body, headers=bearer(client.app, registrar))).status_code == 200
    other = {**body, "announcement_no": "新政发〔2026〕13号"}
    problem(await client.post(url, json=other, headers=bearer(client.app, registrar)), 409, "conflict")
    entries = await LedgerRow.select(LedgerRow.event).where(LedgerRow.subject_id == str(pending.id))
    assert [e["event"] for e in entries] == ["agency.confirmed"]
    assert await Agency.exists().where((Agency.id == pending.id) & (Agency.subject_status == "confirmed"))
    opened = await client.post(f"{OFFICE}/cases", json=opening, headers=bearer(client.app, officer))
    assert opened.status_code == 201, opened.text
