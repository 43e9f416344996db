"""Organisation CRUD: agency scoping (another agency's object is 404), R-AGY and R-LEGAL rules."""

from __future__ import annotations

import pytest

from backend.org.tables import Agency, Entrustment, User


@pytest.mark.requirement("R-AGY-1")
async def test_confirmed_agency_needs_announcement(client, make_agency, make_person, auth_headers):
    justice = await make_agency(kind="justice_bureau")
    admin = await make_person(roles=["admin"], agency=justice)
    headers = await auth_headers(admin)
    before = await Agency.count()
    response = await client.post(
        "/api/v1/agencies",
        json={"code": "new-bureau", "name": "新局", "kind": "enforcement_agency", "subject_status": "confirmed"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "announcement_no"
    assert await Agency.count() == before
    response = await client.post(
        "/api/v1/agencies",
        json={
            "code": "new-bureau",
            "name": "新局",
            "kind": "enforcement_agency",
            "subject_status": "confirmed",
            "announcement_no": "新政发〔2022〕9号",
            "announcement_date": "2022-11-01",
        },
        headers=headers,
    )
    assert response.status_code == 201
    assert response.json()["subject_status"] == "confirmed"


async def test_only_justice_bureau_registers_agencies(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    response = await client.post(
        "/api/v1/agencies",
        json={"code": "x-bureau", "name": "X", "kind": "enforcement_agency"},
        headers=await auth_headers(admin),
    )
    assert response.status_code == 403


async def test_duplicate_username_is_a_conflict_naming_the_field(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    other = await make_person(agency=admin.agency)
    response = await client.post(
        "/api/v1/users",
        json={"username": other.username, "password": "long-enough-1", "full_name": "Dup", "roles": ["officer"]},
        headers=await auth_headers(admin),
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/duplicate"
    assert response.json()["field"] == "username"


async def test_users_of_another_agency_are_404(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    stranger = await make_person()
    headers = await auth_headers(admin)
    assert (await client.get(f"/api/v1/users/{stranger.user.id}", headers=headers)).status_code == 404
    response = await client.patch(f"/api/v1/users/{stranger.user.id}", json={"active": False}, headers=headers)
    assert response.status_code == 404
    row = await User.select(User.active).where(User.id == stranger.user.id).first()
    assert row is not None
    assert row["active"] is True
    listed = (await client.get("/api/v1/users", headers=headers)).json()
    assert stranger.user.id not in {u["id"] for u in listed}
    # Creating a user in another agency is also "not found", never a silent success.
    response = await client.post(
        "/api/v1/users",
        json={
            "username": "intruder",
            "password": "long-enough-1",
            "full_name": "I",
            "roles": ["officer"],
            "agency_id": str(stranger.agency.id),
        },
        headers=headers,
    )
    assert response.status_code == 404


async def test_officers_cannot_administer(client, make_person, auth_headers):
    officer = await make_person()
    response = await client.post(
        "/api/v1/users",
        json={"username": "x-user", "password": "long-enough-1", "full_name": "X", "roles": ["officer"]},
        headers=await auth_headers(officer),
    )
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"


@pytest.mark.requirement("R-LEGAL-2")
async def test_legal_reviewer_needs_a_qualification(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    headers = await auth_headers(admin)
    payload = {"username": "new-reviewer", "password": "long-enough-1", "full_name": "R", "roles": ["legal_reviewer"]}
    response = await client.post("/api/v1/users", json=payload, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "legal_qualification_no"
    payload |= {"legal_qualification_no": "A2019000111", "legal_qualification_date": "2019-09-01"}
    assert (await client.post("/api/v1/users", json=payload, headers=headers)).status_code == 201
    officer = await make_person(agency=admin.agency)
    response = await client.patch(f"/api/v1/users/{officer.user.id}", json={"roles": ["legal_reviewer"]}, headers=headers)
    assert response.status_code == 422


@pytest.mark.requirement("R-AGY-2")
async def test_units_and_posts_with_duties(client, make_person, auth_headers):
    admin = await make_person(roles=["admin"])
    headers = await auth_headers(admin)
    unit = (await client.post("/api/v1/units", json={"name": "法制审核科", "kind": "legal_review"}, headers=headers)).json()
    post = await client.post(
        "/api/v1/posts", json={"unit_id": unit["id"], "name": "审核岗", "duties": ["重大执法决定法制审核"]}, headers=headers
    )
    assert post.status_code == 201
    assert post.json()["duties"] == ["重大执法决定法制审核"]
    stranger = await make_person(roles=["admin"])
    response = await client.post("/api/v1/posts", json={"unit_id": unit["id"], "name": "x"}, headers=await auth_headers(stranger))
    assert response.status_code == 404


@pytest.mark.requirement("R-AGY-5")
async def test_entrustment_only_within_the_entrusters_matters(client, make_agency, make_person, auth_headers):
    bureau = await make_agency(matters=["land_inspection"], domains=["land_use"])
    township = await make_agency(kind="entrusted_organisation")
    admin = await make_person(roles=["admin"], agency=bureau)
    headers = await auth_headers(admin)
    payload = {
        "entrusted_agency_id": str(township.id),
        "legal_basis": "《行政处罚法》第二十条",
        "matters": ["land_inspection", "forced_demolition"],
        "domains": ["land_use"],
        "action_kinds": ["inspection"],
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
        "letter_ref": "委托书〔2026〕1号",
    }
    response = await client.post("/api/v1/entrustments", json=payload, headers=headers)
    assert response.status_code == 422
    assert "forced_demolition" in response.json()["detail"]
    assert await Entrustment.count() == 0
    payload["matters"] = ["land_inspection"]
    response = await client.post("/api/v1/entrustments", json=payload, headers=headers)
    assert response.status_code == 201
    assert response.json()["letter_ref"] == "委托书〔2026〕1号"
    missing_letter = {k: v for k, v in payload.items() if k != "letter_ref"}
    assert (await client.post("/api/v1/entrustments", json=missing_letter, headers=headers)).status_code == 400
