"""Decisions under rule, through the office API on a real database (scenario 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.core import clock
from backend.decisions.tables import Decision, LegalReview
from backend.field.tables import Case
from backend.ledger.tables import LedgerRow
from backend.org.tables import User
from tests import factories as make
from tests.integration.decisions.conftest import CASE_IN_REVIEW, YUAN, draft_body, missing, slug

pytestmark = pytest.mark.both_engines


@pytest.mark.requirement("R-LEGAL-4", "R-LEGAL-3", "R-LEGAL-5", "R-LEGAL-6", "R-FAULT-3")
async def test_large_fine_needs_a_passed_review_of_exactly_the_current_draft(make_office):
    office = await make_office()
    drafted = await office.draft(amount_yuan=200_000)
    assert drafted.status_code == 201, drafted.text
    decision = drafted.json()["decision"]
    decision_id, first_sha = decision["id"], decision["draft_sha256"]
    assert decision["major"] is True
    assert decision["major_matches"][0]["category"] == "large_fine"
    await office.serve_and_waive(decision_id)

    blocked = await office.issue(decision_id, first_sha)
    assert set(missing(blocked)) == {"legal-review-required"}
    assert first_sha in blocked.json()["detail"]

    assert (await office.review(decision_id, first_sha, "passed")).status_code == 201
    revised = await office.call(
        "PUT", "wang", f"/api/v1/decisions/{decision_id}/draft", draft_body(office.benchmark_id, amount_yuan=250_000)
    )
    assert revised.status_code == 200, revised.text
    second_sha = revised.json()["decision"]["draft_sha256"]
    assert second_sha != first_sha
    stale = missing(await office.issue(decision_id, second_sha))
    # The fine went up after the notice: a new notice too (R-DISC-7), in the same answer.
    assert set(stale) == {"legal-review-required", "notice-outdated"}
    assert stale["legal-review-required"]["reviewed_sha256"] == first_sha

    assert (await office.review(decision_id, second_sha, "passed")).status_code == 201
    await office.serve_and_waive(decision_id)
    issued = await office.issue(decision_id, second_sha)
    assert issued.status_code == 200, issued.text
    body = issued.json()["decision"]
    assert body["status"] == "issued"
    assert body["decision_no"] == "新市监罚〔2026〕17号"
    assert body["approver_id"] == str(office.people["liu"].user.id)
    assert body["fine_total_fen"] == 250_000 * YUAN
    case = await Case.select(Case.stage).where(Case.id == office.case_id).first()
    assert case is not None
    assert case["stage"] == "service_execution"
    events = await LedgerRow.select(LedgerRow.event).where(LedgerRow.case_id == office.case_id).order_by(LedgerRow.seq)
    names = [e["event"] for e in events]
    for expected in ("decision.drafted", "decision.reviewed", "decision.revised", "decision.notice_served", "decision.issued"):
        assert expected in names
    # R-LEGAL-5: the review record cannot be changed or deleted through the API.
    reviews = await office.call("GET", "sun", f"/api/v1/decisions/{decision_id}/reviews")
    assert [(r["outcome"], r["current"]) for r in reviews.json()] == [("passed", False), ("passed", True)]
    review_id = reviews.json()[0]["id"]
    assert (await office.call("DELETE", "sun", f"/api/v1/decisions/{decision_id}/reviews/{review_id}")).status_code in (404, 405)


@pytest.mark.requirement("R-LEGAL-4")
async def test_failed_review_blocks_and_scenario_4_completes_after_a_new_pass(make_office):
    office = await make_office()
    decision = (await office.draft(amount_yuan=200_000)).json()["decision"]
    await office.serve_and_waive(decision["id"])
    failed = await office.review(decision["id"], decision["draft_sha256"], "not_passed")
    assert failed.status_code == 201
    refused = await office.issue(decision["id"], decision["draft_sha256"])
    assert missing(refused)["legal-review-required"]["current_sha256"] == decision["draft_sha256"]
    # A lower fine on the same facts and basis: the served notice still holds (R-DISC-7).
    revised = await office.call(
        "PUT", "wang", f"/api/v1/decisions/{decision['id']}/draft", draft_body(office.benchmark_id, amount_yuan=180_000)
    )
    sha = revised.json()["decision"]["draft_sha256"]
    assert revised.json()["decision"]["status"] == "draft"
    assert (await office.review(decision["id"], sha, "passed")).status_code == 201
    assert (await office.issue(decision["id"], sha)).status_code == 200


async def test_reviewing_a_stale_view_of_the_draft_is_refused(make_office):
    office = await make_office()
    decision = (await office.draft()).json()["decision"]
    await office.call(
        "PUT", "wang", f"/api/v1/decisions/{decision['id']}/draft", draft_body(office.benchmark_id, amount_yuan=210_000)
    )
    stale = await office.review(decision["id"], decision["draft_sha256"])
    assert stale.status_code == 409
    assert slug(stale) == "draft-changed"
    assert await LegalReview.count() == 0


@pytest.mark.requirement("R-DISC-5", "R-DISC-3")
async def test_amount_outside_the_proposed_tier_needs_a_written_reason(make_office):
    office = await make_office()
    refused = await office.draft(amount_yuan=350_000)
    assert refused.status_code == 422
    assert slug(refused) == "deviation-reason-required"
    assert refused.json()["field"] == "deviation_reason"
    assert await Decision.count() == 0
    accepted = await office.draft(amount_yuan=350_000, deviation_reason="数量远超本阶次典型情形, 且拒不配合")
    assert accepted.status_code == 201, accepted.text
    decision = accepted.json()["decision"]
    assert decision["proposal"]["tier_code"] == "t2"
    assert (decision["proposal"]["fine_min_fen"], decision["proposal"]["fine_max_fen"]) == (100_000 * YUAN, 300_000 * YUAN)
    assert decision["deviation"]["deviates"] is True
    assert decision["draft"]["deviation_reason"].startswith("数量")


@pytest.mark.requirement("R-DISC-4")
async def test_fine_above_the_statutory_maximum_is_refused_even_with_a_reason(make_office):
    office = await make_office()
    refused = await office.draft(amount_yuan=600_000, deviation_reason="any")
    assert refused.status_code == 422
    assert slug(refused) == "penalty-outside-statutory-range"
    assert refused.json()["field"] == "penalties[0].amount_fen"


@pytest.mark.requirement("R-DISC-7")
async def test_no_decision_before_the_notice_is_served_and_the_answer_period_has_run(make_office):
    office = await make_office()
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    assert decision["major"] is False
    sha = decision["draft_sha256"]
    not_served = await office.issue(decision["id"], sha)
    assert set(missing(not_served)) == {"notice-not-served"}
    assert (
        await office.call(
            "POST", "wang", f"/api/v1/decisions/{decision['id']}/notice", {"rights": ["statement", "defence", "hearing"]}
        )
    ).status_code == 201
    still_not_served = await office.issue(decision["id"], sha)
    assert set(missing(still_not_served)) == {"notice-not-served"}
    service = {
        "served_at": clock.now().isoformat(),
        "method": "direct",
        "recipient": "张三",
        "proof_evidence_id": office.receipt_id,
    }
    served = await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/notice/service", service)
    assert served.status_code == 200
    assert served.json()["answer_days"] == 5
    running = missing(await office.issue(decision["id"], sha))
    assert set(running) == {"answer-period-running"}
    assert running["answer-period-running"]["answer_deadline"] == served.json()["answer_deadline"].replace("+00:00", "Z")
    with clock.frozen_clock(clock.now() + timedelta(days=7)):
        issued = await office.issue(decision["id"], sha)
    assert issued.status_code == 200, issued.text


@pytest.mark.requirement("R-DISC-7")
async def test_service_proof_must_be_a_capture_of_the_case(make_office):
    office = await make_office()
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/notice", {})
    service = {
        "served_at": clock.now().isoformat(),
        "method": "post",
        "recipient": "张三",
        "proof_evidence_id": str(office.case_id),
    }
    refused = await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/notice/service", service)
    assert refused.status_code == 422
    assert refused.json()["field"] == "proof_evidence_id"


@pytest.mark.requirement("R-DISC-8")
async def test_lead_investigator_cannot_approve_where_separation_applies(make_office):
    office = await make_office(separation_mode="block")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.serve_and_waive(decision["id"])
    refused = await office.issue(decision["id"], decision["draft_sha256"], who="wang")
    assert set(missing(refused)) == {"separation-of-functions"}
    row = await Decision.select(Decision.status).where(Decision.id == decision["id"]).first()
    assert row is not None
    assert row["status"] == "draft"


@pytest.mark.requirement("R-DISC-8")
async def test_warn_mode_issues_and_records_the_overlap(make_office):
    office = await make_office(separation_mode="warn")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.serve_and_waive(decision["id"])
    issued = await office.issue(decision["id"], decision["draft_sha256"], who="wang")
    assert issued.status_code == 200, issued.text
    warnings = issued.json()["decision"]["separation_warnings"]
    assert len(warnings) == 1
    assert "investigation" in warnings[0]


@pytest.mark.requirement("R-LEGAL-6")
async def test_reviewer_cannot_approve_the_decision_they_reviewed(make_office, make_person, auth_headers):
    office = await make_office()
    both = await make_person(roles=["legal_reviewer", "supervisor"], agency=office.agency)
    office.headers["both"] = await auth_headers(both)
    designated = await office.call(
        "POST", "zhou", "/api/v1/legal-reviewers", {"user_id": str(both.user.id), "unit_id": str(office.extra["unit_id"])}
    )
    assert designated.status_code == 201
    await office.declare("both", "reviewer")
    decision = (await office.draft()).json()["decision"]
    await office.serve_and_waive(decision["id"])
    assert (await office.review(decision["id"], decision["draft_sha256"], who="both")).status_code == 201
    refused = await office.issue(decision["id"], decision["draft_sha256"], who="both")
    assert set(missing(refused)) == {"approver-is-reviewer"}


@pytest.mark.requirement("R-RCS-3", "R-RCS-5")
async def test_reviewer_and_handlers_must_have_declared(make_office, make_person, auth_headers):
    office = await make_office()
    newcomer = await make_person(roles=["legal_reviewer"], agency=office.agency)
    office.headers["new"] = await auth_headers(newcomer)
    await office.call(
        "POST", "zhou", "/api/v1/legal-reviewers", {"user_id": str(newcomer.user.id), "unit_id": str(office.extra["unit_id"])}
    )
    decision = (await office.draft()).json()["decision"]
    refused = await office.review(decision["id"], decision["draft_sha256"], who="new")
    reviewer = missing(refused, "decision-review-blocked")["recusal-missing"]
    assert reviewer["user_id"] == str(newcomer.user.id)


@pytest.mark.requirement("R-LEGAL-2", "R-LEGAL-1")
async def test_reviewer_without_qualification_is_refused(make_office, make_person, auth_headers):
    office = await make_office()
    legacy = await make_person(roles=["legal_reviewer"], agency=office.agency)
    # A reviewer account migrated without a recorded qualification (org refuses new ones).
    await User.update({User.legal_qualification_no: "", User.legal_qualification_date: None}).where(User.id == legacy.user.id)
    body = {"user_id": str(legacy.user.id), "unit_id": str(office.extra["unit_id"])}
    refused = await office.call("POST", "zhou", "/api/v1/legal-reviewers", body)
    assert refused.status_code == 403
    assert slug(refused) == "legal-qualification-missing"
    # Not designated at all: refused as a reviewer whatever the role says.
    office.headers["legacy"] = await auth_headers(legacy)
    decision = (await office.draft()).json()["decision"]
    not_member = await office.review(decision["id"], decision["draft_sha256"], who="legacy")
    assert not_member.status_code == 403
    assert slug(not_member) == "not-a-legal-reviewer"
    # Evidence of prior review work ("reviewing since") lets an existing reviewer migrate.
    migrated = {**body, "reviewing_since": "2018-03-01", "reviewing_since_evidence": "新市监任〔2018〕5号 任命文件"}
    assert (await office.call("POST", "zhou", "/api/v1/legal-reviewers", migrated)).status_code == 201


@pytest.mark.requirement("R-LEGAL-1")
async def test_reviewer_ratio_warns_below_five_percent(make_office, make_person):
    office = await make_office()
    for _ in range(20):
        await make_person(roles=["officer"], agency=office.agency)
    ratio = (await office.call("GET", "liu", "/api/v1/legal-reviewers/ratio")).json()
    assert (ratio["reviewers"], ratio["officers"]) == (1, 22)
    assert ratio["below_required"] is True


async def test_another_agencys_decision_is_not_found(make_office):
    office = await make_office()
    other = await make_office()
    decision = (await office.draft()).json()["decision"]
    assert (await other.call("GET", "wang", f"/api/v1/decisions/{decision['id']}")).status_code == 404
    assert (
        await other.call("POST", "wang", f"/api/v1/cases/{office.case_id}/decisions", draft_body(other.benchmark_id))
    ).status_code == 404


@pytest.mark.requirement("R-DISC-5")
async def test_draft_shows_comparable_issued_decisions_of_the_same_item_and_tier(make_office):
    office = await make_office(separation_mode="warn")
    first = (await office.draft(amount_yuan=150_000)).json()["decision"]
    await office.serve_and_waive(first["id"])
    await office.review(first["id"], first["draft_sha256"])
    assert (await office.issue(first["id"], first["draft_sha256"])).status_code == 200
    # A second case of the same agency, same item and tier.
    second_case = (await make.case(office.people["wang"], office.people["li"], **CASE_IN_REVIEW)).id
    await office.declare_all(second_case)
    office.case_id = second_case
    second = (await office.draft(amount_yuan=120_000)).json()
    assert [c["decision_no"] for c in second["comparable"]] == ["新市监罚〔2026〕17号"]
    assert second["comparable"][0]["fine_total_fen"] == 150_000 * YUAN


@pytest.mark.requirement("R-DISC-9", "R-DISC-1")
async def test_issued_results_are_public_unless_restricted_with_a_reason(make_office):
    office = await make_office(separation_mode="warn")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    assert decision["benchmark_version"] == 1
    await office.serve_and_waive(decision["id"])
    body = {"decision_no": "新市监罚〔2026〕18号", "draft_sha256": decision["draft_sha256"], "disclosure": "restricted"}
    no_reason = await office.call("POST", "liu", f"/api/v1/decisions/{decision['id']}/issue", body)
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "restriction_reason"
    public = await office.client.get(f"/public/v1/agencies/{office.agency.id}/decisions")
    assert public.json() == []
    assert (await office.issue(decision["id"], decision["draft_sha256"], number="新市监罚〔2026〕18号")).status_code == 200
    public = await office.client.get(f"/public/v1/agencies/{office.agency.id}/decisions")
    assert [(d["decision_no"], d["fine_total_fen"]) for d in public.json()] == [("新市监罚〔2026〕18号", 90_000 * YUAN)]


@pytest.mark.requirement("R-LEGAL-5", "R-FAULT-3")
async def test_review_bundle_shows_draft_tier_notice_declarations_and_roles(make_office):
    office = await make_office()
    decision = (await office.draft(amount_yuan=350_000, deviation_reason="拒不配合调查")).json()["decision"]
    await office.serve_and_waive(decision["id"])
    await office.review(decision["id"], decision["draft_sha256"], "returned")
    bundle = await office.call("GET", "sun", f"/api/v1/decisions/{decision['id']}/review-bundle")
    assert bundle.status_code == 200, bundle.text
    body = bundle.json()
    assert body["decision"]["deviation"]["deviates"] is True
    assert body["decision"]["draft"]["deviation_reason"] == "拒不配合调查"
    assert body["notice"]["proof_evidence_id"] == office.receipt_id
    assert set(body["case"]["declarations"].values()) == {"declared"}
    assert [r["role"] for r in body["roles"]] == ["drafter", "reviewer"]
    assert [r["outcome"] for r in body["reviews"]] == ["returned"]
    assert body["decision"]["status"] == "returned"


@pytest.mark.requirement("R-RCS-3", "R-RCS-4")
async def test_reviewer_who_declared_a_conflict_cannot_review(make_office, make_person, auth_headers):
    office = await make_office()
    related = await make_person(roles=["legal_reviewer"], agency=office.agency)
    office.headers["related"] = await auth_headers(related)
    body = {"user_id": str(related.user.id), "unit_id": str(office.extra["unit_id"])}
    await office.call("POST", "zhou", "/api/v1/legal-reviewers", body)
    await office.declare("related", "reviewer", conflict=True, ground="close_relative", statement="当事人法定代表人系本人表兄")
    again = await office.call(
        "POST", "related", f"/api/v1/cases/{office.case_id}/decision-declarations", {"capacity": "reviewer", "conflict": False}
    )
    assert again.status_code == 409
    decision = (await office.draft()).json()["decision"]
    refused = await office.review(decision["id"], decision["draft_sha256"], who="related")
    assert missing(refused, "decision-review-blocked")["recusal-missing"]["user_id"] == str(related.user.id)


@pytest.mark.requirement("R-RCS-2", "R-RCS-5")
async def test_collective_discussion_needs_every_participant_declared(make_office, make_person, auth_headers):
    office = await make_office()
    deputy = await make_person(roles=["supervisor"], agency=office.agency)
    office.headers["deputy"] = await auth_headers(deputy)
    decision = (await office.draft()).json()["decision"]
    people = office.people
    body = {
        "held_at": clock.now().isoformat(),
        "participant_ids": [str(people["liu"].user.id), str(deputy.user.id)],
        "minutes": "讨论了违法事实与罚款数额。",
        "outcome": "同意拟处罚意见",
    }
    refused = await office.call("POST", "liu", f"/api/v1/decisions/{decision['id']}/discussions", body)
    assert refused.status_code == 409
    assert str(deputy.user.id) in refused.json()["detail"]
    await office.declare("deputy", "discussion_member")
    recorded = await office.call("POST", "liu", f"/api/v1/decisions/{decision['id']}/discussions", body)
    assert recorded.status_code == 201, recorded.text
    bundle = (await office.call("GET", "sun", f"/api/v1/decisions/{decision['id']}/review-bundle")).json()
    assert len(bundle["discussions"]) == 1
    assert bundle["case"]["declarations"][str(deputy.user.id)] == "declared"


@pytest.mark.requirement("R-DISC-7", "R-DISC-8")
async def test_requested_hearing_is_held_by_someone_else_before_issue(make_office, make_person, auth_headers):
    office = await make_office(separation_mode="block")
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.call(
        "POST", "wang", f"/api/v1/decisions/{decision['id']}/notice", {"rights": ["statement", "defence", "hearing"]}
    )
    service = {
        "served_at": (clock.now() - timedelta(days=10)).isoformat(),
        "method": "direct",
        "recipient": "张三",
        "proof_evidence_id": office.receipt_id,
        "hearing_requested": True,
    }
    assert (await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/notice/service", service)).status_code == 200
    pending = await office.issue(decision["id"], decision["draft_sha256"])
    assert set(missing(pending)) == {"hearing-pending"}
    hearing = {"host_id": str(office.people["wang"].user.id), "held_at": clock.now().isoformat(), "minutes": "听证笔录"}
    by_investigator = await office.call("POST", "li", f"/api/v1/decisions/{decision['id']}/hearing", hearing)
    assert by_investigator.status_code == 409
    assert slug(by_investigator) == "separation-of-functions"
    host = await make_person(roles=["officer"], agency=office.agency)
    office.headers["host"] = await auth_headers(host)
    await office.declare("host", "handler")
    hearing["host_id"] = str(host.user.id)
    assert (await office.call("POST", "li", f"/api/v1/decisions/{decision['id']}/hearing", hearing)).status_code == 201
    assert (await office.issue(decision["id"], decision["draft_sha256"])).status_code == 200


@pytest.mark.requirement("R-DISC-7")
async def test_working_day_period_into_an_unloaded_year_is_provisional_until_the_year_is_loaded(make_office, client):
    office = await make_office()
    working = {"penalty_kind": "fine", "days": 5, "day_kind": "working"}
    assert (await office.call("PUT", "zhou", "/api/v1/answer-periods", working)).status_code == 200
    decision = (await office.draft(amount_yuan=90_000, circumstances=["f1"])).json()["decision"]
    await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/notice", {})
    # Served on 29 December 2026: five working days reach into 2027, which the package lacks.
    service = {
        "served_at": "2026-12-29T02:00:00+00:00",
        "method": "direct",
        "recipient": "张三",
        "proof_evidence_id": office.receipt_id,
    }
    with clock.frozen_clock(datetime(2026, 12, 30, tzinfo=UTC)):
        served = await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/notice/service", service)
    assert served.status_code == 200, served.text
    # Weekends only: 30, 31 Dec, Fri 1 Jan, Mon 4, Tue 5 Jan 2027 — marked provisional.
    assert served.json()["answer_deadline"] == "2027-01-05T15:59:59Z"
    assert served.json()["answer_deadline_provisional"] is True
    # Past the provisional end the party may still be within its period: no issuing yet.
    with clock.frozen_clock(datetime(2027, 1, 6, 2, 0, tzinfo=UTC)):
        early = await office.issue(decision["id"], decision["draft_sha256"])
    assert early.status_code == 409
    assert "answer-period-running" in missing(early)
    # The Justice Bureau loads the 2027 notice: 1 and 4 Jan are holidays.
    bureau = await make.agency(kind="justice_bureau")
    admin = await make.person(["admin"], bureau)
    notice_2027 = {
        "year": 2027,
        "notice_ref": "国办发明电〔2026〕7号",
        "holidays": ["2027-01-01", "2027-01-04"],
        "makeup_workdays": [],
    }
    by_agency_admin = await office.call("POST", "zhou", "/api/v1/calendar/years", notice_2027)
    assert by_agency_admin.status_code == 403
    loaded = await client.post("/api/v1/calendar/years", json=notice_2027, headers=make.bearer(client.app, admin))
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["recomputed_notices"] >= 1
    notice = (await office.call("GET", "wang", f"/api/v1/decisions/{decision['id']}/notice")).json()
    # 30, 31 Dec, 5, 6, 7 Jan 2027.
    assert notice["answer_deadline"] == "2027-01-07T15:59:59Z"
    assert notice["answer_deadline_provisional"] is False
    recomputed = await LedgerRow.count().where(
        (LedgerRow.event == "decision.answer_deadline_recomputed") & (LedgerRow.subject_id == decision["id"])
    )
    assert recomputed == 1
