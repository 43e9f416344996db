"""Scenario 4 — a large fine (重大执法决定) through the legal-review gate (market supervision),
played on the demo over HTTP.

钱 and 郑's investigation is in review & decision. 钱 drafts a ¥200,000 fine: the catalog makes
it major (fines ≥ ¥100,000), the three-tier benchmark puts the chosen circumstances in the middle
tier (¥100,000–¥300,000). The written notice is served (photo of the signed receipt) and the
party asks for a hearing, which 吴 hosts. 沈 reviews: not passed, the quantity sold is not proven;
after more investigation the amount changes, the old review no longer counts, 沈 reviews the new
draft: passed. Only then can 蒋 — not the lead investigator, not the reviewer — issue it.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.demo.history import FOOD_CASE
from tests.e2e.scenarios.town import OFFICE, Person, Town, jpeg, now, ok, problem

pytestmark = pytest.mark.slow

CASE = str(FOOD_CASE)
YUAN = 100
DECISION_NO = "新市监罚〔2026〕21号"


def _draft(benchmark_id: str, amount_yuan: int, facts: str) -> dict[str, Any]:
    return {
        "benchmark_id": benchmark_id,
        "item_code": "food-unsafe-sale",
        "circumstances": ["f2"],
        "penalties": [{"kind": "fine", "amount_fen": amount_yuan * YUAN}],
        "facts": facts,
        "reasons": "当事人经营不符合食品安全标准的食品，违反《中华人民共和国食品安全法》第三十四条。",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条第一款",
    }


def _declare(person: Person, capacity: str) -> None:
    body = {"capacity": capacity, "conflict": False, "statement": "本人与本案当事人无利害关系，无回避情形"}
    ok(person.post(f"{OFFICE}/cases/{CASE}/decision-declarations", body), 201)


def _photo(person: Person, label: str) -> str:
    """A paper signed by the party, photographed into the case's evidence."""
    return str(ok(person.capture(CASE, jpeg(label), kind="photo", media_type="image/jpeg"), 201)["evidence_id"])


def _waiting(reviewer: Person, decision_id: str) -> list[str]:
    """The draft versions of this decision in the reviewer's queue."""
    items = ok(reviewer.get(f"{OFFICE}/queues/reviews"))["items"]
    return [item["draft_sha256"] for item in items if item["decision_id"] == decision_id]


def _issue(person: Person, decision_id: str, sha: str) -> Any:
    return person.post(f"{OFFICE}/decisions/{decision_id}/issue", {"decision_no": DECISION_NO, "draft_sha256": sha})


@pytest.mark.requirement(
    "R-DISC-1",
    "R-DISC-2",
    "R-DISC-3",
    "R-DISC-7",
    "R-DISC-8",
    "R-LEGAL-3",
    "R-LEGAL-4",
    "R-LEGAL-5",
    "R-LEGAL-6",
    "R-RCS-2",
    "R-RCS-5",
)
def test_large_fine_passes_the_legal_review_gate_on_the_second_review(town: Town) -> None:
    qian, zheng, shen, jiang, wu = town["qian"], town["zheng"], town["shen"], town["jiang"], town["market-admin"]
    case = ok(jiang.get(f"{OFFICE}/cases/{CASE}"))
    assert case["stage"] == "review_decision"
    assert {o["user_id"] for o in case["officers"]} == {qian.user_id, zheng.user_id}

    # 1–2. The published benchmark has three tiers; the circumstances place ¥200,000 in the middle one.
    benchmarks = ok(qian.get(f"{OFFICE}/benchmarks"))
    food = next(b for b in benchmarks if b["matter"] == "food_safety" and b["status"] == "published")
    tiers = ok(qian.get(f"{OFFICE}/benchmarks/{food['id']}"))["items"][0]["tiers"]
    assert [(t["fine_min_fen"], t["fine_max_fen"]) for t in tiers] == [
        (50_000 * YUAN, 100_000 * YUAN),
        (100_000 * YUAN, 300_000 * YUAN),
        (300_000 * YUAN, 500_000 * YUAN),
    ]
    drafted = ok(
        qian.post(f"{OFFICE}/cases/{CASE}/decisions", _draft(food["id"], 200_000, "当事人销售不符合食品安全标准的熟食。")), 201
    )
    decision = drafted["decision"]
    decision_id, first_sha = decision["id"], decision["draft_sha256"]
    assert decision["proposal"]["tier_code"] == "t2"
    assert (decision["proposal"]["fine_min_fen"], decision["proposal"]["fine_max_fen"]) == (100_000 * YUAN, 300_000 * YUAN)
    assert decision["major"] is True
    assert [m["category"] for m in decision["major_matches"]] == ["large_fine"]

    # The written notice of facts, reasons and basis, served: the signed receipt photographed;
    # the party asks for a hearing.
    notice = ok(qian.post(f"{OFFICE}/decisions/{decision_id}/notice", {"rights": ["statement", "defence", "hearing"]}), 201)
    assert notice["based_on_version"] == 1
    assert (notice["facts"], notice["legal_basis"]) == (decision["draft"]["facts"], decision["draft"]["legal_basis"])
    served = {
        "served_at": now().isoformat(),
        "method": "direct",
        "recipient": "新绛县某餐饮有限公司法定代表人",
        "proof_evidence_id": _photo(qian, "行政处罚告知书送达回证"),
        "hearing_requested": True,
    }
    assert ok(qian.post(f"{OFFICE}/decisions/{decision_id}/notice/service", served))["hearing_requested"] is True

    # The reviewer, the approver and the hearing host declare on the recusal grounds (R-RCS-2).
    _declare(shen, "reviewer")
    _declare(jiang, "approver")
    _declare(wu, "discussion_member")
    # Nothing can be issued yet: the hearing is pending and no review passed.
    early = problem(_issue(jiang, decision_id, first_sha), 409, "decision-issue-blocked")
    assert {m["code"] for m in early["missing"]} == {"hearing-pending", "answer-period-running", "legal-review-required"}

    hearing = {
        "host_id": wu.user_id,
        "held_at": now().isoformat(),
        "minutes": "当事人对销售数量提出异议，称仅销售约 3,000 份。",
        "record_evidence_id": _photo(qian, "听证笔录"),
    }
    ok(qian.post(f"{OFFICE}/decisions/{decision_id}/hearing", hearing), 201)
    # After the hearing the party gives up the rest of its answer period in writing.
    waiver = {"waiver_evidence_id": _photo(qian, "放弃陈述申辩期限声明")}
    ok(qian.post(f"{OFFICE}/decisions/{decision_id}/notice/waiver", waiver))

    # 3. 沈 finds the draft in the review queue and reviews exactly that version: not passed,
    # the quantity sold is not proven.
    assert _waiting(shen, decision_id) == [first_sha]
    bundle = ok(shen.get(f"{OFFICE}/decisions/{decision_id}/review-bundle"))
    assert bundle["decision"]["draft_sha256"] == first_sha
    # R-LEGAL-5: every evidence item of the case with its hash status (the investigation's
    # photographed papers, the receipt, the hearing record).
    statuses = {item["evidence_id"]: item["hash_status"] for item in bundle["evidence"]}
    assert len(statuses) >= 6
    assert set(statuses.values()) == {"verified"}
    # R-RCS-5: the handlers' declarations shown to the reviewer, by name.
    declared = {d["user_name"]: d["state"] for d in bundle["declarations"]}
    assert declared[qian.full_name] == declared[zheng.full_name] == "declared"
    review = {"draft_sha256": first_sha, "outcome": "not_passed", "opinion": "关于销售数量的证据不足，退回补充调查。"}
    ok(shen.post(f"{OFFICE}/decisions/{decision_id}/reviews", review), 201)
    refused = problem(_issue(jiang, decision_id, first_sha), 409, "decision-issue-blocked")
    assert [(m["code"], m["current_sha256"]) for m in refused["missing"]] == [("legal-review-required", first_sha)]

    # More investigation: the sales ledger is photographed; the amount changes.
    _photo(zheng, "当事人销售台账（补充调查）")
    revised = qian.put(
        f"{OFFICE}/decisions/{decision_id}/draft",
        _draft(food["id"], 180_000, "经补充调查，当事人销售不符合食品安全标准的熟食 3,200 份，货值金额 6.4 万元。"),
    )
    second = ok(revised)["decision"]
    second_sha = second["draft_sha256"]
    assert second_sha != first_sha
    assert second["major"] is True
    # The old review does not count for the new draft: it waits in 沈's queue again.
    assert _waiting(shen, decision_id) == [second_sha]
    stale = problem(_issue(jiang, decision_id, second_sha), 409, "decision-issue-blocked")
    assert [(m["code"], m["current_sha256"]) for m in stale["missing"]] == [("legal-review-required", second_sha)]
    problem(
        shen.post(f"{OFFICE}/decisions/{decision_id}/reviews", {**review, "outcome": "passed"}), 409, "draft-changed"
    )  # a review of the old draft is refused

    passed = {
        "draft_sha256": second_sha,
        "outcome": "passed",
        "opinion": "事实清楚，证据确凿，适用依据正确，程序合法，裁量适当。",
    }
    ok(shen.post(f"{OFFICE}/decisions/{decision_id}/reviews", passed), 201)

    # Only now, by an approver who is not the lead investigator and not the reviewer.
    assert _issue(qian, decision_id, second_sha).status_code in (403, 409)
    assert _issue(shen, decision_id, second_sha).status_code in (403, 409)
    issued = ok(_issue(jiang, decision_id, second_sha))["decision"]
    assert issued["status"] == "issued"
    assert issued["decision_no"] == DECISION_NO
    assert issued["approver_id"] == jiang.user_id
    assert issued["fine_total_fen"] == 180_000 * YUAN
    reviews = ok(shen.get(f"{OFFICE}/decisions/{decision_id}/reviews"))
    assert [(r["outcome"], r["current"]) for r in reviews] == [("not_passed", False), ("passed", True)]
    assert _waiting(shen, decision_id) == []
    assert ok(jiang.get(f"{OFFICE}/cases/{CASE}"))["stage"] == "service_execution"
