"""Jurisdiction disputes over HTTP (R-AGY-4): 7 working days to agree, else the county
government decides; it may designate directly; the outcome is on the case's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.core import clock
from backend.ledger.tables import LedgerRow
from backend.org import calendar
from backend.oversight import calendar as calendar_loading
from tests import factories as make

# Thursday 24 Sep 2026 noon, Shanghai: 28–30 Sep, 8, 9, Saturday 10 (make-up) and 12 Oct.
OPENED = datetime(2026, 9, 24, 4, 0, tzinfo=UTC)
AFTER = datetime(2026, 10, 13, 2, 0, tzinfo=UTC)


@dataclass
class County:
    client: AsyncTestClient[Litestar]
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]

    async def call(self, method: str, who: str, path: str, body: Any = None) -> Any:
        return await self.client.request(method, path, json=body, headers=self.headers[who])

    async def open(self) -> dict[str, Any]:
        body = {"counterpart_agency_id": self.ids["b"], "matter": "河道旁违法建筑由谁查处", "case_id": self.ids["case"]}
        with clock.frozen_clock(OPENED):
            opened = await self.call("POST", "a", "/api/v1/jurisdiction-disputes", body)
        assert opened.status_code == 201, opened.text
        return dict(opened.json())


async def _county(client: AsyncTestClient[Litestar]) -> County:
    a, b, other = await make.agency(), await make.agency(), await make.agency()
    government = await make.agency(kind="county_government")
    bureau = await make.agency(kind="justice_bureau")
    lead = await make.person(["officer"], a, certified=True)
    case = await make.case(lead)
    people = {
        "a": await make.person(["supervisor"], a),
        "b": await make.person(["admin"], b),
        "other": await make.person(["admin"], other),
        "county": await make.person(["admin"], government),
        "justice": await make.person(["admin"], bureau),
    }
    headers = {name: make.bearer(client.app, p) for name, p in people.items()}
    return County(client=client, headers=headers, ids={"a": str(a.id), "b": str(b.id), "case": str(case.id)})


@pytest.mark.requirement("R-AGY-4")
async def test_the_parties_agree_within_7_working_days_and_the_outcome_is_on_the_case(client: AsyncTestClient[Litestar]) -> None:
    county = await _county(client)
    dispute = await county.open()
    assert dispute["agreement_due_at"] == "2026-10-12T15:59:59Z"
    assert dispute["agreement_due_provisional"] is False
    base = f"/api/v1/jurisdiction-disputes/{dispute['id']}"
    assert (await county.call("GET", "other", base)).status_code == 404
    assert (await county.call("GET", "county", base)).status_code == 200
    with clock.frozen_clock(OPENED):
        first = await county.call("POST", "a", f"{base}/consent", {"competent_agency_id": county.ids["a"]})
        differing = await county.call("POST", "b", f"{base}/consent", {"competent_agency_id": county.ids["b"]})
        assert differing.json()["status"] == "open"
        agreed = await county.call(
            "POST", "b", f"{base}/consent", {"competent_agency_id": county.ids["a"], "terms": "由甲方查处"}
        )
    assert first.status_code == 200, first.text
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["status"] == "agreed"
    assert agreed.json()["competent_agency_id"] == county.ids["a"]
    on_case = await LedgerRow.select(LedgerRow.event).where(LedgerRow.case_id == county.ids["case"]).order_by(LedgerRow.seq)
    assert [e["event"] for e in on_case if e["event"].startswith("jurisdiction.")] == [
        "jurisdiction.dispute_opened",
        "jurisdiction.consented",
        "jurisdiction.consented",
        "jurisdiction.agreed",
    ]
    listed = await county.call("GET", "b", f"/api/v1/jurisdiction-disputes?case_id={county.ids['case']}")
    assert [d["id"] for d in listed.json()] == [dispute["id"]]


@pytest.mark.requirement("R-AGY-4")
async def test_without_agreement_the_county_government_decides_after_the_deadline(client: AsyncTestClient[Litestar]) -> None:
    county = await _county(client)
    dispute = await county.open()
    base = f"/api/v1/jurisdiction-disputes/{dispute['id']}"
    decision = {"kind": "decided", "competent_agency_id": county.ids["b"], "basis": "依据职责分工，由乙方管辖"}
    with clock.frozen_clock(OPENED):
        early = await county.call("POST", "county", f"{base}/outcome", decision)
    assert early.status_code == 409
    assert early.json()["type"].endswith("/dispute-state")
    with clock.frozen_clock(AFTER):
        late = await county.call("POST", "a", f"{base}/consent", {"competent_agency_id": county.ids["a"]})
        overdue = await county.call("GET", "county", "/api/v1/jurisdiction-disputes?which=overdue")
        by_bureau = await county.call("POST", "justice", f"{base}/outcome", decision)
        decided = await county.call("POST", "county", f"{base}/outcome", decision)
    assert late.status_code == 409
    assert dispute["id"] in [d["id"] for d in overdue.json()]
    assert by_bureau.status_code == 403
    assert by_bureau.json()["type"].endswith("/county-government-only")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "decided"
    assert decided.json()["competent_agency_id"] == county.ids["b"]
    assert decided.json()["outcome_by_name"]


@pytest.mark.requirement("R-AGY-4")
async def test_the_county_government_may_designate_directly(client: AsyncTestClient[Litestar]) -> None:
    county = await _county(client)
    dispute = await county.open()
    designation = {"kind": "designated", "competent_agency_id": county.ids["a"], "basis": "县政府指定管辖"}
    with clock.frozen_clock(OPENED):
        designated = await county.call("POST", "county", f"/api/v1/jurisdiction-disputes/{dispute['id']}/outcome", designation)
    assert designated.status_code == 200, designated.text
    assert designated.json()["status"] == "designated"
    again = await county.call(
        "POST", "a", f"/api/v1/jurisdiction-disputes/{dispute['id']}/consent", {"competent_agency_id": county.ids["a"]}
    )
    assert again.status_code == 409


@pytest.mark.requirement("R-AGY-4")
async def test_an_agreement_deadline_in_an_unloaded_year_is_recomputed_when_it_is_loaded(
    client: AsyncTestClient[Litestar],
) -> None:
    county = await _county(client)
    body = {"counterpart_agency_id": county.ids["b"], "matter": "跨年争议"}
    # Monday 28 Dec 2026: 29–31 Dec, then 1, 4, 5, 6 Jan 2027 on weekends only.
    with clock.frozen_clock(datetime(2026, 12, 28, 4, 0, tzinfo=UTC)):
        opened = (await county.call("POST", "a", "/api/v1/jurisdiction-disputes", body)).json()
    assert opened["agreement_due_provisional"] is True
    assert opened["agreement_due_at"] == "2027-01-06T15:59:59Z"
    notice = calendar.YearNotice(year=2027, notice_ref="国办发明电〔2026〕7号", holidays=[date(2027, 1, 1)], makeup_workdays=[])
    loaded = await calendar_loading.load_year(principal=None, notice=notice)
    assert loaded.recomputed_disputes == 1
    seen = (await county.call("GET", "a", f"/api/v1/jurisdiction-disputes/{opened['id']}")).json()
    # 1 Jan is a holiday: 29–31 Dec, 4–7 Jan.
    assert seen["agreement_due_provisional"] is False
    assert seen["agreement_due_at"] == "2027-01-07T15:59:59Z"
