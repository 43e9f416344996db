"""The demo itself, as the scenarios stand on it (docs/DEMO.md): the township confirmed with
its entrustment, designated legal reviewers in each agency, the catalogs, today's actions at
local working hours in Asia/Shanghai, and a custody ledger that verifies although its past was
written with the clock moved back."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.demo.history import DEMOLITION_CASE
from backend.demo.today import IMPOUND_CASE, LAND_CASE, MARKET_ROUTINE_CASE, RESTAURANT_CASE
from tests.e2e.scenarios.town import OFFICE, Town, ok

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.requirement("R-AGY-1", "R-AGY-5", "R-LEGAL-1", "R-LEGAL-3", "R-REC-7")
def test_the_demo_town_is_what_the_scenarios_need(town: Town) -> None:
    nr = town["nr-admin"]
    township = next(a for a in ok(nr.get(f"{OFFICE}/agencies")) if a["code"] == "township")
    assert (township["subject_status"], township["announcement_no"]) == ("confirmed", "新政办发〔2026〕5号")
    entrustments = ok(nr.get(f"{OFFICE}/entrustments"))
    assert [(e["matters"], e["action_kinds"]) for e in entrustments] == [(["land_inspection"], ["inspection"])]

    # Each agency's designated reviewer, and the market's supervisor and reviewer.
    for admin, reviewer in (("zhou", "孙静"), ("market-admin", "沈洁")):
        assert [r["full_name"] for r in ok(town[admin].get(f"{OFFICE}/legal-reviewers"))] == [reviewer]
    assert ok(town["jiang"].get(f"{OFFICE}/me"))["roles"] == ["supervisor"]
    assert ok(town["shen"].get(f"{OFFICE}/me"))["roles"] == ["legal_reviewer"]
    catalog = ok(town["market-admin"].get(f"{OFFICE}/major-catalog"))
    assert [(e["category"], e["penalties"]) for e in catalog] == [("large_fine", [{"kind": "fine", "threshold_fen": 10_000_000}])]

    # Today's actions: planned at local working hours, today in 新绛.
    today = datetime.now(SHANGHAI).date()
    planned = []
    for viewer, case_id in (
        ("liu", RESTAURANT_CASE),
        ("jiang", MARKET_ROUTINE_CASE),
        ("jiang", IMPOUND_CASE),
        ("liu", DEMOLITION_CASE),
        ("chen", LAND_CASE),
    ):
        for action in ok(town[viewer].get(f"{OFFICE}/cases/{case_id}/actions")):
            planned.append(datetime.fromisoformat(action["planned_at"]).astimezone(SHANGHAI))
    assert sorted((at.hour, at.minute) for at in planned) == [(9, 30), (10, 0), (10, 30), (14, 30), (15, 0)]
    assert {at.date() for at in planned} == {today}

    # The past written with the clock moved back is still one verifiable chain.
    check = ok(town["liu"].post(f"{OFFICE}/custody/ledger/verify"))
    assert check["ok"] is True, check
