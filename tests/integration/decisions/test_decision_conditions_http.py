"""The conditions a legal review and an issue answer all at once (issue 14, Found 12), the
new notice a heavier draft needs (R-DISC-7, Found 10) and what the review bundle shows of
the evidence and the audio-video coverage (R-LEGAL-5, Found 11)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.core import clock
from backend.decisions.tables import Decision, LegalReview
from backend.field.tables import Case
from evidence.tables import EvidenceItem
from tests import factories as make
from tests.integration.custody.test_review_http import flip_byte
from tests.integration.decisions.conftest import CASE_IN_REVIEW, draft_body, missing, upload_receipt

pytestmark = pytest.mark.both_engines


@pytest.mark.requirement("R-LEGAL-5", "R-REC-4")
async def test_review_bundle_lists_each_evidence_hash_status_and_the_actions_av_coverage(make_office, settings):
    office = await make_office()
    second = await upload_receipt(office.client, office.headers["wang"], office.case_id, seed=7)
    third = await upload_receipt(office.client, office.headers["wang"], office.case_id, seed=9)
    planned = {}
    for kind in ("impound", "inspection"):
        body = {
            "case_id": str(office.case_id),
            "kind": kind,
            "title": f"{kind} 某餐饮有限公司",
            "planned_at": clock.now().isoformat(),
            "planned_place": "新绛县龙兴镇",
            "participant_ids": [str(office.people["wang"].user.id), str(office.people["li"].user.id)],
        }
        response = await office.call("POST", "liu", "/api/v1/actions", body)
        assert response.status_code == 201, response.text
        planned[kind] = response.json()["id"]
    stored = await office.call("POST", "liu", f"/api/v1/actions/{planned['impound']}/coverage/reports")
    assert stored.status_code in (200, 201), stored.text
    decision = (await office.draft()).json()["decision"]
    bundle_url = f"/api/v1/decisions/{decision['id']}/review-bundle"

    before = (await office.call("GET", "sun", bundle_url)).json()
    mine = {office.receipt_id, second, third}  # the case's stage records are photographed documents too
    assert {e["evidence_id"]: (e["hash_status"], e["checked_by"]) for e in before["evidence"] if e["evidence_id"] in mine} == {
        office.receipt_id: ("verified", "arrival"),
        second: ("verified", "arrival"),
        third: ("verified", "arrival"),
    }
    # The second photo's stored bytes change behind the store's back; a re-hash run finds it.
    key = await EvidenceItem.select(EvidenceItem.object_key).where(EvidenceItem.id == second).first()
    assert key is not None
    flip_byte(settings, key["object_key"], offset=100)
    run = await office.call("POST", "liu", f"/api/v1/cases/{office.case_id}/verification-runs")
    assert run.status_code == 202, run.text
    # A record whose bytes were never checked against its hash (arrival check not done).
    await EvidenceItem.update({EvidenceItem.status: "received"}).where(EvidenceItem.id == third)

    after = (await office.call("GET", "sun", bundle_url)).json()
    status = {e["evidence_id"]: e for e in after["evidence"]}
    assert (status[office.receipt_id]["hash_status"], status[office.receipt_id]["checked_by"]) == ("verified", "re_hash")
    assert status[second]["hash_status"] == "mismatch"
    assert status[second]["problems"] == ["stored bytes no longer match the recorded SHA-256"]
    # The re-hash ran before the third record lost its arrival check: that check still stands.
    assert status[third]["checked_by"] == "re_hash"
    coverage = {c["action_id"]: c for c in after["coverage"]}
    impound, inspection = coverage[planned["impound"]], coverage[planned["inspection"]]
    assert (impound["requires_av"], impound["coverage"], len(impound["reports"])) == (True, "incomplete", 1)
    assert impound["reports"][0]["required"] is True
    assert (inspection["coverage"], inspection["reports"]) == ("not_required", [])


@pytest.mark.requirement("R-LEGAL-5")
async def test_evidence_never_checked_against_its_hash_shows_as_not_checked(make_office):
    office = await make_office()
    await EvidenceItem.update({EvidenceItem.status: "received"}).where(EvidenceItem.id == office.receipt_id)
    decision = (await office.draft()).json()["decision"]
    bundle = (await office.call("GET", "sun", f"/api/v1/decisions/{decision['id']}/review-bundle")).json()
    receipt = next(e for e in bundle["evidence"] if e["evidence_id"] == office.receipt_id)
    assert (receipt["hash_status"], receipt["checked_by"], receipt["checked_at"]) == ("not_checked", None, None)


async def challenge(office: Any, target: str) -> str:
    """The party asks that an officer of the case step aside (R-RCS-4): blocked until decided."""
    body = {
        "target_user_id": str(office.people[target].user.id),
        "raised_by_kind": "party",
        "raised_by_name": "某餐饮有限公司",
        "ground": "close_relative",
        "reasons": "当事人称该执法人员系其法定代表人的近亲属",
    }
    raised = await office.call("POST", "liu", f"/api/v1/cases/{office.case_id}/recusal-requests", body)
    assert raised.status_code == 201, raised.text
    return str(raised.json()["id"])


@pytest.mark.requirement("R-RCS-5", "R-RCS-4")
async def test_a_review_passes_only_when_every_handler_has_declared_and_is_not_blocked(make_office):
    """Issue 14, Found 17: removing the handlers' check from the review makes this fail."""
    office = await make_office()
    decision = (await office.draft()).json()["decision"]
    request_id = await challenge(office, "li")
    refused = await office.review(decision["id"], decision["draft_sha256"], "passed")
    blocked = missing(refused, "decision-review-blocked")
    assert set(blocked) == {"recusal-missing"}
    assert blocked["recusal-missing"]["user_id"] == str(office.people["li"].user.id)
    assert await LegalReview.count() == 0
    # Not passing needs no one else's standing: the reviewer may send it back.
    assert (await office.review(decision["id"], decision["draft_sha256"], "returned")).status_code == 201
    decided = await office.call(
        "POST",
        "liu",
        f"/api/v1/cases/{office.case_id}/recusal-requests/{request_id}/decision",
        {"upheld": False, "reasons": "经核实不存在近亲属关系"},
    )
    assert decided.status_code in (200, 201), decided.text
    assert (await office.review(decision["id"], decision["draft_sha256"], "passed")).status_code == 201


@pytest.mark.requirement("R-RCS-5", "R-RCS-2")
async def test_a_discussion_member_blocked_later_stops_the_pass(make_office):
    office = await make_office()
    decision = (await office.draft()).json()["decision"]
    body = {
        "held_at": clock.now().isoformat(),
        "participant_ids": [str(office.people["liu"].user.id), str(office.people["wang"].user.id)],
        "minutes": "讨论了违法事实与罚款数额。",
        "outcome": "同意拟处罚意见",
    }
    assert (await office.call("POST", "liu", f"/api/v1/decisions/{decision['id']}/discussions", body)).status_code == 201
    await challenge(office, "wang")
    refused = missing(await office.review(decision["id"], decision["draft_sha256"], "passed"), "decision-review-blocked")
    assert refused["recusal-missing"]["user_id"] == str(office.people["wang"].user.id)


@pytest.mark.requirement("R-RCS-3", "R-RCS-5", "R-DISC-8")
async def test_review_lists_every_missing_condition_at_once(make_office, make_person, auth_headers):
    office = await make_office(separation_mode="block")
    # 韩 reviews for the agency but also investigates this case as an assisting officer.
    han = await make_person(roles=["officer", "legal_reviewer"], agency=office.agency)
    office.headers["han"] = await auth_headers(han)
    office.people["han"] = han
    body = {"user_id": str(han.user.id), "unit_id": str(office.extra["unit_id"])}
    assert (await office.call("POST", "zhou", "/api/v1/legal-reviewers", body)).status_code == 201
    office.case_id = (await make.case(office.people["wang"], office.people["li"], han, **CASE_IN_REVIEW)).id
    decision = (await office.draft()).json()["decision"]
    await challenge(office, "han")
    await challenge(office, "li")
    # Separation, 韩's own standing and 李's are all missing: one answer names all three.
    refused = await office.review(decision["id"], decision["draft_sha256"], "passed", who="han")
    assert refused.status_code == 409, refused.text
    found = refused.json()["missing"]
    assert sorted(m["code"] for m in found) == ["recusal-missing", "recusal-missing", "separation-of-functions"]
    assert {m.get("user_id") for m in found if m["code"] == "recusal-missing"} == {
        str(han.user.id),
        str(office.people["li"].user.id),
    }
    assert await LegalReview.count() == 0


@pytest.mark.requirement("R-DISC-7", "R-LEGAL-4", "R-LEGAL-6")
async def test_issue_lists_every_missing_condition_at_once(make_office):
    office = await make_office(separation_mode="block")
    decision = (await office.draft(amount_yuan=200_000)).json()["decision"]
    # 王 (lead investigator), who also reviewed it, tries to issue a major decision never
    # noticed, whose review did not pass, in a case that has moved on.
    await office.declare("wang", "approver")
    refused = await office.issue(decision["id"], decision["draft_sha256"], who="wang")
    assert set(missing(refused)) == {"notice-not-served", "legal-review-required", "separation-of-functions"}
    await Case.update({Case.stage: "investigation"}).where(Case.id == office.case_id)
    await office.review(decision["id"], decision["draft_sha256"], "not_passed")
    again = missing(await office.issue(decision["id"], decision["draft_sha256"], who="wang"))
    assert set(again) == {"case-stage-conflict", "notice-not-served", "legal-review-required", "separation-of-functions"}
    assert (await Decision.select(Decision.status).where(Decision.id == decision["id"]).first()) == {"status": "review_failed"}


@pytest.mark.requirement("R-DISC-7")
async def test_new_facts_after_the_notice_need_a_new_notice_before_issue(make_office):
    """Issue 14, Found 10: a revised draft with new facts issued on the old notice."""
    office = await make_office(separation_mode="warn")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.serve_and_waive(decision["id"])
    revised = await office.call(
        "PUT",
        "wang",
        f"/api/v1/decisions/{decision['id']}/draft",
        draft_body(
            office.benchmark_id, amount_yuan=90_000, circumstances=["f1"], facts="当事人销售不符合食品安全标准的熟食 8,000 份。"
        ),
    )
    sha = revised.json()["decision"]["draft_sha256"]
    outdated = missing(await office.issue(decision["id"], sha))
    assert set(outdated) == {"notice-outdated"}
    assert outdated["notice-outdated"]["changes"] == ["the facts changed since the notice"]
    bundle = (await office.call("GET", "sun", f"/api/v1/decisions/{decision['id']}/review-bundle")).json()
    assert bundle["notice_outdated_by"] == ["the facts changed since the notice"]
    old_notice = (await office.call("GET", "wang", f"/api/v1/decisions/{decision['id']}/notice")).json()
    assert old_notice["outdated_by"] == ["the facts changed since the notice"]
    # The new notice tells the new facts; once served and waived, the decision issues.
    await office.serve_and_waive(decision["id"])
    notice = (await office.call("GET", "wang", f"/api/v1/decisions/{decision['id']}/notice")).json()
    new_facts = "当事人销售不符合食品安全标准的熟食 8,000 份。"
    assert (notice["based_on_version"], notice["facts"], notice["outdated_by"]) == (2, new_facts, [])
    assert (await office.issue(decision["id"], sha)).status_code == 200


@pytest.mark.requirement("R-DISC-7")
async def test_a_lighter_draft_after_the_notice_issues_on_it(make_office):
    office = await make_office(separation_mode="warn")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.serve_and_waive(decision["id"])
    revised = await office.call(
        "PUT",
        "wang",
        f"/api/v1/decisions/{decision['id']}/draft",
        draft_body(office.benchmark_id, amount_yuan=60_000, circumstances=["f1", "l1"]),
    )
    assert revised.status_code == 200, revised.text
    sha = revised.json()["decision"]["draft_sha256"]
    issued = await office.issue(decision["id"], sha)
    assert issued.status_code == 200, issued.text


@pytest.mark.requirement("R-DISC-7")
async def test_a_hearing_on_the_old_notice_does_not_hear_the_new_one(make_office):
    office = await make_office(separation_mode="warn")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    url = f"/api/v1/decisions/{decision['id']}"

    async def notice_with_hearing() -> None:
        assert (
            await office.call("POST", "wang", f"{url}/notice", {"rights": ["statement", "defence", "hearing"]})
        ).status_code == 201
        service = {
            "served_at": clock.now().isoformat(),
            "method": "direct",
            "recipient": "张三",
            "proof_evidence_id": office.receipt_id,
            "hearing_requested": True,
        }
        assert (await office.call("POST", "wang", f"{url}/notice/service", service)).status_code == 200
        waiver = {"waiver_evidence_id": office.receipt_id}
        assert (await office.call("POST", "wang", f"{url}/notice/waiver", waiver)).status_code == 200

    async def hold_hearing() -> None:
        hearing = {"host_id": str(office.people["liu"].user.id), "held_at": clock.now().isoformat(), "minutes": "听证笔录"}
        assert (await office.call("POST", "li", f"{url}/hearing", hearing)).status_code == 201

    await notice_with_hearing()
    await hold_hearing()
    revised = await office.call(
        "PUT", "wang", f"{url}/draft", draft_body(office.benchmark_id, amount_yuan=95_000, circumstances=["f1"])
    )
    sha = revised.json()["decision"]["draft_sha256"]
    assert set(missing(await office.issue(decision["id"], sha))) == {"notice-outdated"}
    await notice_with_hearing()
    assert set(missing(await office.issue(decision["id"], sha))) == {"hearing-pending"}
    await hold_hearing()
    assert (await office.issue(decision["id"], sha)).status_code == 200
