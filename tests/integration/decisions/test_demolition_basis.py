"""A forced demolition needs an issued and served decision whose periods have run (issue 14,
found #7; 行政强制法 Art.44): planning and the start gate refuse it with a listed 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.core import clock
from backend.decisions.execution import remedy_period_end
from backend.field.tables import ExecutionBasis
from backend.ledger.tables import LedgerRow
from tests.integration.decisions.conftest import Office, missing

COUNTY = ZoneInfo("Asia/Shanghai")


async def _issued(office: Office) -> dict[str, Any]:
    drafted = await office.draft(amount_yuan=200_000)
    assert drafted.status_code == 201, drafted.text
    decision = drafted.json()["decision"]
    await office.serve_and_waive(decision["id"])
    assert (await office.review(decision["id"], decision["draft_sha256"])).status_code == 201
    issued = await office.issue(decision["id"], decision["draft_sha256"])
    assert issued.status_code == 200, issued.text
    return dict(decision)


def _demolition(office: Office, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": str(office.case_id),
        "kind": "forced_demolition",
        "planned_at": clock.now().isoformat(),
        "participant_ids": [str(office.people["wang"].user.id), str(office.people["li"].user.id)],
        "coercion_reason": "当事人逾期不自行拆除，经催告仍不履行",
        **extra,
    }


@pytest.mark.requirement("R-REC-2")
async def test_a_demolition_waits_for_a_served_decision_and_its_periods(make_office):
    office = await make_office()
    decision = await _issued(office)
    plan = await office.call("POST", "liu", "/api/v1/actions", _demolition(office))
    # Found #7: issued is not enough — its service (and the periods from it) must be recorded.
    assert set(missing(plan, "execution-basis-missing")) == {"decision_served"}

    service = {
        "served_at": clock.now().isoformat(),
        "method": "direct",
        "recipient": "张三",
        "proof_evidence_id": office.receipt_id,
        "compliance_deadline": (clock.now() + timedelta(days=10)).isoformat(),
        "announcement_ref": "新综执告〔2026〕8号",
    }
    recorded = await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/service", service)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["remedy_period_end"] > recorded.json()["compliance_deadline"]
    again = await office.call("POST", "wang", f"/api/v1/decisions/{decision['id']}/service", service)
    assert again.status_code == 409
    # Served today: the party's own deadline and the remedy periods still run — both listed.
    waiting = missing(await office.call("POST", "liu", "/api/v1/actions", _demolition(office)), "execution-basis-missing")
    assert set(waiting) == {"compliance_period", "remedy_period"}

    # Months later (the periods moved into the past): the demolition may be planned.
    past = clock.now() - timedelta(days=1)
    await ExecutionBasis.update({ExecutionBasis.compliance_deadline: past, ExecutionBasis.remedy_period_end: past}).where(
        ExecutionBasis.decision_id == decision["id"]
    )
    planned = await office.call("POST", "liu", "/api/v1/actions", _demolition(office))
    assert planned.status_code == 201, planned.text
    served = await LedgerRow.select(LedgerRow.event).where(LedgerRow.event == "decision.served")
    assert len(served) == 1

    # The start gate asks again: a basis that no longer holds is one of the listed missing items.
    future = clock.now() + timedelta(days=30)
    await ExecutionBasis.update({ExecutionBasis.remedy_period_end: future}).where(ExecutionBasis.decision_id == decision["id"])
    checklist = await office.call("GET", "wang", f"/api/mobile/v1/actions/{planned.json()['id']}")
    assert checklist.status_code == 200, checklist.text
    assert "remedy_period" in checklist.json()["missing"]


async def test_only_an_issued_decision_is_served(make_office):
    office = await make_office()
    drafted = await office.draft()
    decision_id = drafted.json()["decision"]["id"]
    service = {
        "served_at": clock.now().isoformat(),
        "method": "direct",
        "recipient": "张三",
        "proof_evidence_id": office.receipt_id,
        "compliance_deadline": (clock.now() + timedelta(days=10)).isoformat(),
    }
    refused = await office.call("POST", "wang", f"/api/v1/decisions/{decision_id}/service", service)
    assert refused.status_code == 409, refused.text
    assert await ExecutionBasis.count() == 0


def test_the_remedy_periods_end_six_months_after_service_clamped_to_the_month():
    served = datetime(2026, 3, 31, 10, 0, tzinfo=COUNTY)
    assert remedy_period_end(served) == datetime(2026, 9, 30, 23, 59, 59, tzinfo=COUNTY).astimezone(UTC)
    january = datetime(2026, 1, 15, 9, 0, tzinfo=COUNTY)
    assert remedy_period_end(january) == datetime(2026, 7, 15, 23, 59, 59, tzinfo=COUNTY).astimezone(UTC)
