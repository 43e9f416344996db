"""R-CERT-1/2/3: issuing, the state machine over HTTP, history, card recovery, scoping."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from backend.core import clock
from backend.core.errors import Conflict
from certificates import schemas, transitions
from certificates.tables import CardRecovery, Certificate, CertificateEvent
from tests.factories import certificate_body

SUSPEND = {
    "reason": "殴打当事人",
    "rule_breached": "过错 Art.11(3)",
    "document_ref": "暂扣决定〔2025〕1号",
    "card_recovered": True,
}
REVOKE = {"reason": "调离执法岗位", "document_ref": "注销决定〔2025〕2号"}
REINSTATE = {"reason": "暂扣期满", "document_ref": "恢复决定〔2025〕3号"}


async def _admin_and_officer(make_person: Any, auth_headers: Any) -> Any:
    admin = await make_person(roles=["admin"])
    officer = await make_person(agency=admin.agency)
    return admin, officer, await auth_headers(admin)


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-1")
async def test_issue_records_exam_and_history(client, make_person, auth_headers):
    admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    response = await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["verifies_now"] is True
    assert body["exam"] == {"exam_id": "EX-2025-07", "exam_date": "2025-07-01", "score": 86, "pass_mark": 60}
    assert [(e["action"], e["from_status"], e["to_status"]) for e in body["history"]] == [("issue", "", "active")]
    assert body["history"][0]["actor_id"] == str(admin.user.id)
    assert body["history"][0]["document_ref"] == "发证决定〔2025〕3号"


@pytest.mark.requirement("R-CERT-1")
@pytest.mark.parametrize(
    "exam",
    [
        {"exam_id": "EX-1", "exam_date": "2025-07-01", "score": 40, "pass_mark": 60, "passed": False},
        {"exam_id": "EX-1", "exam_date": "2025-07-01", "score": 59, "pass_mark": 60, "passed": True},
    ],
)
async def test_issue_without_passed_exam_is_refused(client, make_person, auth_headers, exam):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    response = await client.post("/api/v1/certificates", json=certificate_body(officer.user.id, exam=exam), headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/certificate-exam-not-passed"
    assert await Certificate.count() == 0


async def test_issue_without_exam_is_a_validation_error(client, make_person, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    body = certificate_body(officer.user.id)
    del body["exam"]
    response = await client.post("/api/v1/certificates", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["field"] == "exam"


async def test_duplicate_number_is_409(client, make_person, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    body = certificate_body(officer.user.id)
    assert (await client.post("/api/v1/certificates", json=body, headers=headers)).status_code == 201
    again = await client.post("/api/v1/certificates", json=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/duplicate"


async def test_domains_outside_the_agency_are_refused(client, make_person, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    response = await client.post(
        "/api/v1/certificates", json=certificate_body(officer.user.id, domains=["taxation"]), headers=headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "domains"


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-2", "R-CERT-3")
async def test_full_lifecycle_with_append_only_history(client, make_person, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    base = f"/api/v1/certificates/{cert['id']}"

    suspended = await client.post(f"{base}/suspend", json=SUSPEND, headers=headers)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["verifies_now"] is False
    # R-CERT-3: the card was recovered at suspension; the task waits for the hand-over.
    [task] = suspended.json()["card_recoveries"]
    assert task["state"] == "recovered"

    reinstated = await client.post(f"{base}/reinstate", json=REINSTATE, headers=headers)
    assert reinstated.json()["status"] == "active"

    renewal = {
        "valid_from": clock.now().isoformat(),
        "valid_until": (clock.now() + timedelta(days=3 * 365)).isoformat(),
        "reason": "换证",
        "document_ref": "换证〔2026〕1号",
    }
    renewed = await client.post(f"{base}/renew", json=renewal, headers=headers)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["id"] == cert["id"]
    assert renewed.json()["holder_id"] == str(officer.user.id)

    revoked = await client.post(f"{base}/revoke", json=REVOKE, headers=headers)
    assert revoked.json()["status"] == "revoked"
    history = revoked.json()["history"]
    assert [(e["seq"], e["action"], e["to_status"]) for e in history] == [
        (1, "issue", "active"),
        (2, "suspend", "suspended"),
        (3, "reinstate", "active"),
        (4, "renew", "active"),
        (5, "revoke", "revoked"),
    ]
    assert history[1]["reason"] == SUSPEND["reason"]
    assert history[1]["rule_breached"] == SUSPEND["rule_breached"]
    assert history[3]["details"]["previous"]["valid_until"] == cert["valid_until"].replace("Z", "+00:00")
    assert await CertificateEvent.count() == 5
    assert await CardRecovery.count() == 2


@pytest.mark.requirement("R-CERT-2")
@pytest.mark.parametrize(
    ("setup", "action", "body"),
    [
        ([], "reinstate", REINSTATE),
        (["suspend"], "suspend", SUSPEND),
        (["revoke"], "reinstate", REINSTATE),
        (["revoke"], "suspend", SUSPEND),
        (["revoke"], "revoke", REVOKE),
        (["suspend"], "renew", None),
        (["revoke"], "renew", None),
    ],
)
async def test_illegal_transitions_are_409_and_change_nothing(client, make_person, auth_headers, setup, action, body):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    base = f"/api/v1/certificates/{cert['id']}"
    bodies = {"suspend": SUSPEND, "revoke": REVOKE}
    for step in setup:
        assert (await client.post(f"{base}/{step}", json=bodies[step], headers=headers)).status_code == 200
    if body is None:
        body = {
            "valid_from": clock.now().isoformat(),
            "valid_until": (clock.now() + timedelta(days=365)).isoformat(),
            "reason": "换证",
            "document_ref": "换证〔2026〕1号",
        }
    events_before = await CertificateEvent.count()
    response = await client.post(f"{base}/{action}", json=body, headers=headers)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/illegal-transition"
    assert await CertificateEvent.count() == events_before


@pytest.mark.requirement("R-CERT-2")
async def test_expiry_is_derived_from_the_clock_and_renew_revives(client, make_person, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    base = f"/api/v1/certificates/{cert['id']}"
    later = clock.now() + timedelta(days=400)
    with clock.frozen_clock(later):
        expired = (await client.get(base, headers=headers)).json()
        assert expired["status"] == "expired"
        assert expired["stored_status"] == "active"
        # No transition was needed for the expiry: the history has only the issue.
        assert len(expired["history"]) == 1
        assert (await client.post(f"{base}/reinstate", json=REINSTATE, headers=headers)).status_code == 409
        renewal = {
            "valid_from": later.isoformat(),
            "valid_until": (later + timedelta(days=365)).isoformat(),
            "reason": "期满换证",
            "document_ref": "换证〔2027〕1号",
        }
        renewed = await client.post(f"{base}/renew", json=renewal, headers=headers)
        assert renewed.json()["status"] == "active"
        assert renewed.json()["history"][-1]["from_status"] == "expired"


@pytest.mark.requirement("R-CERT-3")
async def test_card_recovery_task_handed_over_and_disposed_by_justice_bureau(client, make_person, make_agency, auth_headers):
    admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    base = f"/api/v1/certificates/{cert['id']}"
    revoked = (await client.post(f"{base}/revoke", json=REVOKE, headers=headers)).json()
    [task] = revoked["card_recoveries"]
    assert task["state"] == "open"
    step = f"{base}/card-recoveries/{task['id']}"
    # The issuing agency may not record the Justice Bureau's disposition.
    assert (await client.post(step, json={"step": "disposed", "note": "销毁"}, headers=headers)).status_code == 404
    assert (await client.post(step, json={"step": "recovered"}, headers=headers)).status_code == 200
    handed = await client.post(step, json={"step": "handed_over", "note": "交司法局"}, headers=headers)
    assert handed.json()["card_recoveries"][0]["state"] == "handed_over"
    assert (await client.post(step, json={"step": "recovered"}, headers=headers)).status_code == 409

    bureau = await make_agency(kind="justice_bureau")
    jb_admin = await make_person(roles=["admin"], agency=bureau)
    disposed = await client.post(step, json={"step": "disposed", "note": "证件销毁"}, headers=await auth_headers(jb_admin))
    assert disposed.status_code == 200, disposed.text
    card = disposed.json()["card_recoveries"][0]
    assert card["state"] == "disposed"
    assert card["disposition"] == "证件销毁"
    actions = [e["action"] for e in disposed.json()["history"]]
    assert actions[-3:] == ["card_recovered", "card_handed_over", "card_disposed"]
    assert disposed.json()["history"][-1]["actor_agency_id"] == str(bureau.id)
    assert admin.agency.id != bureau.id


@pytest.mark.both_engines
async def test_other_agency_admin_gets_404_and_justice_bureau_may_act(client, make_person, make_agency, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    base = f"/api/v1/certificates/{cert['id']}"
    stranger = await auth_headers(await make_person(roles=["admin"]))
    assert (await client.get(base, headers=stranger)).status_code == 404
    refused = await client.post(f"{base}/suspend", json=SUSPEND, headers=stranger)
    assert refused.status_code == 404
    assert "殴打" not in refused.text
    # Another agency's admin cannot issue to this officer either.
    assert (
        await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=stranger)
    ).status_code == 404
    listing = (await client.get("/api/v1/certificates", headers=stranger)).json()
    assert listing["total"] == 0

    jb = await auth_headers(await make_person(roles=["admin"], agency=await make_agency(kind="justice_bureau")))
    assert (await client.post(f"{base}/suspend", json=SUSPEND, headers=jb)).json()["status"] == "suspended"


async def test_non_admin_of_the_same_agency_cannot_change_status(client, make_person, auth_headers):
    _admin, officer, headers = await _admin_and_officer(make_person, auth_headers)
    cert = (await client.post("/api/v1/certificates", json=certificate_body(officer.user.id), headers=headers)).json()
    officer_headers = await auth_headers(officer)
    response = await client.post(f"/api/v1/certificates/{cert['id']}/suspend", json=SUSPEND, headers=officer_headers)
    assert response.status_code == 404
    stored = await Certificate.select(Certificate.status).first()
    assert stored is not None
    assert stored["status"] == "active"


@pytest.mark.both_engines
@pytest.mark.requirement("R-CERT-2")
async def test_concurrent_transitions_do_not_both_win(make_person, issue_certificate):
    officer = await make_person()
    admin = await make_person(roles=["admin"], agency=officer.agency)
    cert = await issue_certificate(officer, admin=admin)
    data = msgspec.convert(SUSPEND, schemas.SuspendIn)
    results = await asyncio.gather(
        *(transitions.suspend(principal=admin.principal, certificate_id=cert.id, data=data) for _ in range(2)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, schemas.CertificateDetail) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await CertificateEvent.count().where(CertificateEvent.action == "suspend") == 1
