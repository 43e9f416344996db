"""The legal reviewer's queue (issue 14, point 5): major drafts whose current version waits
for review, with the case, the drafter's name and since when; a revised draft waits again."""

from __future__ import annotations

import pytest

from tests.integration.decisions.conftest import draft_body

pytestmark = pytest.mark.both_engines
QUEUE = "/api/v1/queues/reviews"


@pytest.mark.requirement("R-LEGAL-3", "R-LEGAL-4")
async def test_major_draft_waits_for_review_until_its_current_version_is_reviewed(make_office):
    office = await make_office()
    drafted = await office.draft(amount_yuan=200_000)
    assert drafted.status_code == 201, drafted.text
    decision = drafted.json()["decision"]
    queue = (await office.call("GET", "sun", QUEUE)).json()
    assert queue["total"] == 1
    item = queue["items"][0]
    case = (await office.call("GET", "liu", f"/api/v1/cases/{office.case_id}")).json()
    assert (item["decision_id"], item["version"], item["draft_sha256"]) == (decision["id"], 1, decision["draft_sha256"])
    assert (item["case_id"], item["case_reference"], item["case_title"]) == (case["id"], case["reference"], case["title"])
    assert item["major_categories"] == ["large_fine"]
    wang = office.people["wang"].user
    assert (item["drafted_by"], item["drafted_by_name"], item["drafted_by_role"]) == (str(wang.id), wang.full_name, "supervisor")
    assert item["earlier_reviews"] == 0
    assert item["since"]

    returned = await office.review(decision["id"], decision["draft_sha256"], "returned")
    assert returned.status_code == 201, returned.text
    assert (await office.call("GET", "sun", QUEUE)).json()["items"] == []
    # The drafter revises: the new version waits for its own review.
    revised = await office.call(
        "PUT", "wang", f"/api/v1/decisions/{decision['id']}/draft", draft_body(office.benchmark_id, amount_yuan=180_000)
    )
    assert revised.status_code == 200, revised.text
    again = (await office.call("GET", "sun", QUEUE)).json()["items"]
    assert [(i["decision_id"], i["version"], i["earlier_reviews"]) for i in again] == [(decision["id"], 2, 1)]
    assert again[0]["draft_sha256"] == revised.json()["decision"]["draft_sha256"]


async def test_only_legal_reviewers_read_it_and_minor_drafts_do_not_wait(make_office):
    office = await make_office()
    minor = await office.draft(amount_yuan=80_000, circumstances=["f1"])
    assert minor.status_code == 201, minor.text
    assert minor.json()["decision"]["major"] is False
    assert (await office.call("GET", "sun", QUEUE)).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    for who in ("wang", "liu", "zhou"):
        refused = await office.call("GET", who, QUEUE)
        assert refused.status_code == 403, refused.text
    summary = (await office.call("GET", "sun", "/api/v1/queues")).json()
    assert summary == {
        "gap_reasons": None,
        "recusal_requests": None,
        "coverage_incomplete": None,
        "reviews": 0,
        "certificates_expiring": None,
        "complaints_overdue": None,
        "complaints_due_soon": None,
    }


async def test_review_bundle_names_who_held_each_role_and_who_declared(make_office):
    office = await make_office()
    decision = (await office.draft(amount_yuan=200_000)).json()["decision"]
    assert (await office.review(decision["id"], decision["draft_sha256"], "returned")).status_code == 201
    body = (await office.call("GET", "sun", f"/api/v1/decisions/{decision['id']}/review-bundle")).json()
    wang, sun = office.people["wang"].user, office.people["sun"].user
    assert [(r["user_id"], r["role"], r["user_name"]) for r in body["roles"]] == [
        (str(wang.id), "drafter", wang.full_name),
        (str(sun.id), "reviewer", sun.full_name),
    ]
    declared = {d["user_id"]: (d["state"], d["user_name"], d["user_role"]) for d in body["declarations"]}
    assert declared[str(sun.id)] == ("declared", sun.full_name, "legal_reviewer")
    assert set(body["case"]["declarations"]) == set(declared)  # the same people, now with names
