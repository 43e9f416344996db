"""Cases over HTTP: powers and confirmation (R-AGY-1/3), stages (R-REC-1), archive freeze, scoping."""

from __future__ import annotations

import uuid

import pytest

from backend.field.tables import Case, CaseStage
from tests.factories import OFFICE, case_body, document_photo, field_team, open_case
from tests.integration.field.field_helpers import problem


@pytest.fixture
async def f(client):
    return await field_team(client)


@pytest.mark.both_engines
async def test_case_is_opened_with_minimised_party_and_client_id_is_idempotent(f):
    case_id = str(uuid.uuid4())
    first = await f.client.post(f"{OFFICE}/cases", json=case_body(f, id=case_id), headers=f.h("wang"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["stage"] == "initiation"
    assert body["party_id_masked"] == "**************1234"
    assert "id_number" not in body
    again = await f.client.post(f"{OFFICE}/cases", json=case_body(f, id=case_id), headers=f.h("wang"))
    assert again.status_code == 201
    assert again.json()["id"] == case_id
    assert await Case.count().where(Case.id == case_id) == 1


@pytest.mark.requirement("R-AGY-3")
async def test_matter_outside_powers_is_refused(f):
    response = await f.client.post(f"{OFFICE}/cases", json=case_body(f, matter="land_use"), headers=f.h("liu"))
    body = problem(response, 422, "matter-outside-powers")
    assert body["field"] == "matter"
    assert await Case.count() == 0


@pytest.mark.requirement("R-AGY-1")
async def test_unconfirmed_agency_cannot_open_cases(client, make_agency, make_person, auth_headers):
    agency = await make_agency(subject_status="pending", announcement_no="", announcement_date=None)
    officer = await make_person(agency=agency)
    supervisor = await make_person(roles=["supervisor"], agency=agency)
    body = {
        "kind": "inspection",
        "title": "检查",
        "matter": "food_safety",
        "domain": "market_supervision",
        "legal_basis": "食品安全法",
        "party": {"kind": "organisation", "name": "某餐馆"},
        "officers": [{"user_id": str(officer.user.id), "role": "lead"}],
    }
    response = await client.post(f"{OFFICE}/cases", json=body, headers=await auth_headers(supervisor))
    problem(response, 409, "agency-not-confirmed")


@pytest.mark.requirement("R-AGY-3")
async def test_entrusted_matter_acts_in_entrusters_name(client, make_agency, make_person, auth_headers):
    from datetime import timedelta

    import msgspec

    from backend.core import clock
    from backend.org import schemas as org_schemas
    from backend.org import service as org_service

    entruster = await make_agency(matters=["land_use"], domains=["natural_resources"])
    township = await make_agency(kind="entrusted_organisation", matters=[], domains=[])
    boss = await make_person(roles=["admin"], agency=entruster)
    data = msgspec.convert(
        {
            "entrusted_agency_id": str(township.id),
            "legal_basis": "行政处罚法 第二十条",
            "matters": ["land_use"],
            "domains": ["natural_resources"],
            "action_kinds": ["inspection"],
            "authority": "现场检查",
            "valid_from": (clock.now() - timedelta(days=1)).isoformat(),
            "valid_until": (clock.now() + timedelta(days=365)).isoformat(),
            "letter_ref": "委托书〔2026〕1号",
        },
        org_schemas.EntrustmentIn,
    )
    await org_service.create_entrustment(principal=boss.principal, data=data)
    chen = await make_person(agency=township)
    body = {
        "kind": "inspection",
        "title": "土地检查",
        "matter": "land_use",
        "domain": "natural_resources",
        "legal_basis": "土地管理法",
        "party": {"kind": "person", "name": "某村民"},
        "officers": [{"user_id": str(chen.user.id), "role": "lead"}],
        "declaration": {"conflict": False},
    }
    response = await client.post(f"{OFFICE}/cases", json=body, headers=await auth_headers(chen))
    assert response.status_code == 201, response.text
    assert response.json()["acting_agency_id"] == str(entruster.id)
    assert response.json()["agency_id"] == str(township.id)


@pytest.mark.both_engines
@pytest.mark.requirement("R-REC-1", "R-REC-6")
async def test_stage_needs_a_record_and_archiving_freezes(f):
    case = await open_case(f)
    cid = case["id"]
    advance = await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": "investigation"}, headers=f.h("liu"))
    body = problem(advance, 409, "stage-record-missing")
    assert body["stage"] == "initiation"
    skip = await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": "review_decision"}, headers=f.h("liu"))
    problem(skip, 422, "invalid-input")
    for stage in ("investigation", "review_decision", "service_execution", "archived"):
        evidence_id = str(await document_photo(f.people["wang"], uuid.UUID(cid), title=f"文书 before {stage}"))
        filed = {"title": f"文书 before {stage}", "evidence_id": evidence_id}
        record = await f.client.post(f"{OFFICE}/cases/{cid}/records", json=filed, headers=f.h("wang"))
        assert record.status_code == 201, record.text
        moved = await f.client.post(f"{OFFICE}/cases/{cid}/stage", json={"to_stage": stage}, headers=f.h("liu"))
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage"] == stage
    assert moved.json()["archived_at"] is not None
    stages = [
        r["stage"] for r in await CaseStage.select(CaseStage.stage).where(CaseStage.case == cid).order_by(CaseStage.entered_at)
    ]
    assert stages == ["initiation", "investigation", "review_decision", "service_execution", "archived"]
    late = {"title": "late", "evidence_id": str(uuid.uuid4())}
    frozen = await f.client.post(f"{OFFICE}/cases/{cid}/records", json=late, headers=f.h("wang"))
    problem(frozen, 409, "case-archived")
    action = {"case_id": cid, "kind": "inspection", "planned_at": "2026-01-01T00:00:00Z", "participant_ids": [f.uid("wang")]}
    problem(await f.client.post(f"{OFFICE}/actions", json=action, headers=f.h("liu")), 409, "case-archived")


@pytest.mark.both_engines
async def test_other_agency_sees_404_everywhere(f, client, make_person, auth_headers):
    case = await open_case(f)
    stranger = await make_person(roles=["supervisor", "admin"])
    h = await auth_headers(stranger)
    cid = case["id"]
    for method, path, body in (
        ("get", f"{OFFICE}/cases/{cid}", None),
        ("post", f"{OFFICE}/cases/{cid}/records", {"title": "x", "evidence_id": str(uuid.uuid4())}),
        ("post", f"{OFFICE}/cases/{cid}/stage", {"to_stage": "investigation"}),
        ("post", f"{OFFICE}/cases/{cid}/officers", {"user_id": str(stranger.user.id), "role": "assisting"}),
        ("get", f"{OFFICE}/cases/{cid}/actions", None),
        ("get", f"{OFFICE}/cases/{cid}/recusals", None),
        ("get", f"{OFFICE}/cases/{cid}/recusal-requests", None),
    ):
        kwargs = {"headers": h} if body is None else {"headers": h, "json": body}
        response = await getattr(client, method)(path, **kwargs)
        problem(response, 404, "not-found")
    listed = await client.get(f"{OFFICE}/cases", headers=h)
    assert listed.status_code == 200
    assert listed.json() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "arrest"}, "kind"),
        ({"title": ""}, "title"),
        ({"matter": "Bad Matter"}, "matter"),
        ({"legal_basis": ""}, "legal_basis"),
        ({"party": {"kind": "alien", "name": "x"}}, "party.kind"),
        ({"party": {"kind": "person", "name": "x", "id_number": "1234<script>"}}, "party.id_number"),
        ({"officers": []}, "officers"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_case_input_names_the_field(f, change, field):
    response = await f.client.post(f"{OFFICE}/cases", json=case_body(f, **change), headers=f.h("liu"))
    body = problem(response, 400, "validation-error")
    assert field.split(".")[-1] in (body.get("field") or "") + body["detail"]
    assert await Case.count() == 0


async def test_case_needs_exactly_one_lead(f):
    body = case_body(f)
    body["officers"] = [{"user_id": f.uid("wang"), "role": "assisting"}]
    problem(await f.client.post(f"{OFFICE}/cases", json=body, headers=f.h("liu")), 422, "invalid-input")
    body["officers"] = [{"user_id": str(uuid.uuid4()), "role": "lead"}]
    problem(await f.client.post(f"{OFFICE}/cases", json=body, headers=f.h("liu")), 404, "not-found")


async def test_legal_reviewer_cannot_open_cases(f, make_person, auth_headers):
    reviewer = await make_person(roles=["legal_reviewer"], agency=f.agency)
    response = await f.client.post(f"{OFFICE}/cases", json=case_body(f), headers=await auth_headers(reviewer))
    problem(response, 403, "forbidden")


@pytest.mark.requirement("R-DISC-8")
async def test_separation_of_functions_block_mode(client):
    f = await field_team(client, separation_mode="block")
    case = await open_case(f, assisting=("li",))
    same = {"user_id": f.uid("wang"), "role": "assisting", "function": "decision"}
    problem(
        await client.post(f"{OFFICE}/cases/{case['id']}/officers", json=same, headers=f.h("liu")), 409, "separation-of-functions"
    )


@pytest.mark.requirement("R-DISC-8")
async def test_separation_of_functions_warn_mode_reports_overlap(f):
    case = await open_case(f, assisting=("li",))
    same = {"user_id": f.uid("wang"), "role": "assisting", "function": "decision"}
    response = await f.client.post(f"{OFFICE}/cases/{case['id']}/officers", json=same, headers=f.h("liu"))
    assert response.status_code == 201, response.text
    assert response.json()["separation_warnings"]


@pytest.mark.requirement("R-REC-1")
async def test_a_capture_in_the_stage_counts_as_its_record(f):
    import hashlib

    from backend.core import clock
    from tests.factories import MOBILE
    from tests.integration.evidence.media_factory import jpeg

    case = await open_case(f)
    photo = jpeg()
    params = {
        "case_id": case["id"],
        "kind": "photo",
        "sha256": hashlib.sha256(photo).hexdigest(),
        "captured_at": clock.now().isoformat(),
        "device_id": "phone-wang",
    }
    uploaded = await f.client.post(
        f"{MOBILE}/evidence", params=params, content=photo, headers={**f.h("wang"), "Content-Type": "image/jpeg"}
    )
    assert uploaded.status_code == 201, uploaded.text
    moved = await f.client.post(f"{OFFICE}/cases/{case['id']}/stage", json={"to_stage": "investigation"}, headers=f.h("liu"))
    assert moved.status_code == 200, moved.text
    # The photo belongs to the previous stage: the new one still needs its own record.
    again = await f.client.post(f"{OFFICE}/cases/{case['id']}/stage", json={"to_stage": "review_decision"}, headers=f.h("liu"))
    problem(again, 409, "stage-record-missing")
