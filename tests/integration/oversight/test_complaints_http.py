"""Complaints over HTTP (R-CMP-1..4): published channels, submission without login, the
30 working days, the head's approval for a later due date, the lists and the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend import audit
from backend.core import clock
from backend.ledger.tables import LedgerRow
from backend.org import calendar
from backend.oversight import calendar as calendar_loading
from backend.oversight import complaints
from backend.oversight.tables import Complaint
from tests import factories as make

CHANNEL = {"phone": "0571-12345678", "email": "tousu@xinan.gov.cn", "postal_address": "新安县人民路1号 投诉受理科"}
# Thursday 24 Sep 2026 noon, Shanghai: 30 working days later is 12 Nov 2026 (tests/unit/decisions/test_deadlines.py).
ACCEPTED = datetime(2026, 9, 24, 4, 0, tzinfo=UTC)


@dataclass
class Agency:
    client: AsyncTestClient[Litestar]
    id: str
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]

    async def call(self, method: str, who: str, path: str, body: Any = None) -> Any:
        return await self.client.request(method, path, json=body, headers=self.headers[who])


async def _agency(client: AsyncTestClient[Litestar], *, publish: bool = True) -> Agency:
    agency = await make.agency()
    people = {
        "admin": await make.person(["admin"], agency),
        "supervisor": await make.person(["supervisor"], agency),
        "handler": await make.person(["officer"], agency),
        "colleague": await make.person(["officer"], agency),
    }
    headers = {name: make.bearer(client.app, p) for name, p in people.items()} | {"public": {}}
    found = Agency(client=client, id=str(agency.id), headers=headers, ids={n: str(p.user.id) for n, p in people.items()})
    if publish:
        unit = await found.call("POST", "admin", "/api/v1/units", {"name": "投诉受理科", "kind": "complaint"})
        assert unit.status_code == 201, unit.text
        published = await found.call("PUT", "admin", "/api/v1/complaint-channel", {"unit_id": unit.json()["id"], **CHANNEL})
        assert published.status_code == 200, published.text
    return found


async def _submit(office: Agency, **fields: Any) -> dict[str, Any]:
    body = {"agency_id": office.id, "subject": "执法人员态度恶劣", "content": "9月20日检查时执法人员态度恶劣。", **fields}
    answer = await office.call("POST", "public", "/public/v1/complaints", body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _complaint_id(office: Agency, tracking_no: str) -> str:
    listed = await office.call("GET", "supervisor", "/api/v1/complaints")
    assert listed.status_code == 200, listed.text
    return next(c["id"] for c in listed.json() if c["tracking_no"] == tracking_no)


@pytest.mark.requirement("R-CMP-1")
async def test_an_agency_takes_complaints_only_with_a_unit_and_published_channels(client: AsyncTestClient[Litestar]) -> None:
    closed = await _agency(client, publish=False)
    body = {"agency_id": closed.id, "subject": "投诉", "content": "内容"}
    refused = await closed.call("POST", "public", "/public/v1/complaints", body)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/complaints-not-open")
    assert refused.json()["title"] == "该机关尚未公布投诉渠道，暂不受理投诉"
    foreign_unit = await client.post("/api/v1/units", json={"name": "别家"}, headers=closed.headers["admin"])
    office = await _agency(client)
    borrowed = await office.call("PUT", "admin", "/api/v1/complaint-channel", {"unit_id": foreign_unit.json()["id"], **CHANNEL})
    assert borrowed.status_code == 422
    assert borrowed.json()["field"] == "unit_id"
    assert (
        await office.call("PUT", "supervisor", "/api/v1/complaint-channel", {"unit_id": foreign_unit.json()["id"], **CHANNEL})
    ).status_code == 403
    channels = await client.get("/public/v1/complaint-channels")
    assert channels.status_code == 200
    listed = {c["agency_id"]: c for c in channels.json()}
    assert closed.id not in listed
    assert {k: listed[office.id][k] for k in CHANNEL} == CHANNEL
    assert listed[office.id]["unit_name"] == "投诉受理科"
    assert not {"published_by", "published_by_id"} & set(listed[office.id])


@pytest.mark.requirement("R-CMP-2")
async def test_a_complaint_is_submitted_without_login_and_followed_with_its_code(client: AsyncTestClient[Litestar]) -> None:
    office = await _agency(client)
    receipt = await _submit(office, complainant_name="赵六", complainant_contact="13800000000")
    assert receipt["status"] == "received"
    assert receipt["tracking_no"].startswith("TS-")
    wrong = await office.call(
        "POST",
        "public",
        "/public/v1/complaints/status",
        {"tracking_no": receipt["tracking_no"], "verification_code": "WRONGCODE1"},
    )
    assert wrong.status_code == 404
    query = {"tracking_no": receipt["tracking_no"], "verification_code": receipt["verification_code"]}
    seen = await office.call("POST", "public", "/public/v1/complaints/status", query)
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "received"
    # The complainant's view names nobody: not the complainant, not an officer.
    assert "赵六" not in seen.text
    assert "13800000000" not in seen.text
    assert "handler" not in seen.text
    too_long = await office.call(
        "POST", "public", "/public/v1/complaints", {"agency_id": office.id, "subject": "x", "content": "长" * 5001}
    )
    assert too_long.status_code == 400
    assert "content" in too_long.text
    # The ledger keeps the step, not the complainant's identity.
    complaint_id = await _complaint_id(office, receipt["tracking_no"])
    entry = await LedgerRow.select(LedgerRow.details).where(LedgerRow.subject_id == complaint_id).first()
    assert entry is not None
    assert "赵六" not in str(entry["details"])


@pytest.mark.requirement("R-CMP-2", "R-CMP-3", "R-CMP-4")
async def test_the_reply_is_due_30_working_days_after_acceptance_and_moves_only_with_the_head(
    client: AsyncTestClient[Litestar],
) -> None:
    office = await _agency(client)
    receipt = await _submit(office)
    complaint_id = await _complaint_id(office, receipt["tracking_no"])
    base = f"/api/v1/complaints/{complaint_id}"
    assert (await office.call("POST", "handler", f"{base}/accept", {"handler_id": office.ids["handler"]})).status_code == 403
    with clock.frozen_clock(ACCEPTED):
        accepted = await office.call("POST", "supervisor", f"{base}/accept", {"handler_id": office.ids["handler"]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["due_date"] == "2026-11-12"
    assert accepted.json()["due_provisional"] is False
    assert accepted.json()["handler_name"]
    assert accepted.json()["due_basis"] == {"kind": "working_days", "working_days": 30, "citation": ""}
    # Overdue the day after; due within 5 working days from 6 Nov (6, 9, 10, 11, 12 Nov).
    with clock.frozen_clock(datetime(2026, 11, 6, 2, 0, tzinfo=UTC)):
        soon = await office.call("GET", "supervisor", "/api/v1/complaints?which=due_soon")
        early = await office.call("GET", "supervisor", "/api/v1/complaints?which=overdue")
    assert [c["id"] for c in soon.json()] == [complaint_id]
    assert early.json() == []
    with clock.frozen_clock(datetime(2026, 11, 13, 2, 0, tzinfo=UTC)):
        overdue = await office.call("GET", "supervisor", "/api/v1/complaints?which=overdue")
        alert = await office.call("GET", "supervisor", "/api/v1/queues")
        officer = await office.call("GET", "handler", "/api/v1/queues")
    assert [c["id"] for c in overdue.json()] == [complaint_id]
    # R-CMP-4: the work-queue summary alerts the supervisor to the overdue complaint.
    assert alert.json()["complaints_overdue"] == 1
    assert officer.json()["complaints_overdue"] is None
    # R-CMP-3: the supervisor cannot extend; the head (admin) must say why.
    later = {"kind": "head_approval", "new_due_date": "2026-12-01", "reason": "需调取外单位材料"}
    refused = await office.call("POST", "supervisor", f"{base}/due-date", later)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/due-change-needs-head")
    no_reason = await office.call("POST", "admin", f"{base}/due-date", {**later, "reason": ""})
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    uncited = await office.call("POST", "supervisor", f"{base}/due-date", {"kind": "statutory_limit", "working_days": 60})
    assert uncited.status_code == 422
    assert uncited.json()["field"] == "citation"
    approved = await office.call("POST", "admin", f"{base}/due-date", later)
    assert approved.status_code == 200, approved.text
    assert approved.json()["due_date"] == "2026-12-01"
    change = approved.json()["due_changes"][0]
    assert change["approved_by_id"] == office.ids["admin"]
    assert change["reason"] == later["reason"]
    # Only the handler investigates and replies.
    reply = {"content": "经调查，已对相关人员批评教育。", "channel": "phone", "replied_at": "2026-11-20T02:00:00+00:00"}
    assert (await office.call("POST", "colleague", f"{base}/reply", reply)).status_code == 403
    with clock.frozen_clock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC)):
        found = await office.call("POST", "handler", f"{base}/findings", {"findings": "执法记录仪视频显示用语不规范"})
        replied = await office.call("POST", "handler", f"{base}/reply", reply)
    assert found.status_code == 200, found.text
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "replied"
    assert replied.json()["replied_on_time"] is True
    seen = await office.call(
        "POST",
        "public",
        "/public/v1/complaints/status",
        {"tracking_no": receipt["tracking_no"], "verification_code": receipt["verification_code"]},
    )
    assert seen.json()["reply"] == reply["content"]
    assert seen.json()["reply_channel"] == "phone"
    events = await LedgerRow.select(LedgerRow.event).where(LedgerRow.subject_id == complaint_id).order_by(LedgerRow.seq)
    assert [e["event"] for e in events] == [
        "complaint.received",
        "complaint.accepted",
        "complaint.due_changed",
        "complaint.findings_recorded",
        "complaint.replied",
    ]
    # Another agency's complaint does not exist for them.
    other = await _agency(client)
    assert (await other.call("GET", "admin", base)).status_code == 404


@pytest.mark.requirement("R-CMP-4")
async def test_a_complaint_alleging_an_officers_fault_records_the_link(client: AsyncTestClient[Litestar]) -> None:
    office = await _agency(client)
    plain = await _complaint_id(office, (await _submit(office))["tracking_no"])
    alleging = await _complaint_id(
        office, (await _submit(office, alleges_officer_fault=True, alleged_officer="执法证号 33010001"))["tracking_no"]
    )
    link = {"officer_id": office.ids["colleague"]}
    assert (await office.call("POST", "supervisor", f"/api/v1/complaints/{plain}/fault-link", link)).status_code == 409
    linked = await office.call("POST", "supervisor", f"/api/v1/complaints/{alleging}/fault-link", link)
    assert linked.status_code == 200, linked.text
    assert linked.json()["fault_officer_id"] == office.ids["colleague"]
    assert linked.json()["fault_case_id"] is None
    assert await LedgerRow.count().where((LedgerRow.event == "complaint.fault_linked") & (LedgerRow.subject_id == alleging)) == 1


@pytest.mark.requirement("R-CMP-2")
async def test_a_due_date_in_an_unloaded_year_is_provisional_until_the_year_is_loaded(client: AsyncTestClient[Litestar]) -> None:
    office = await _agency(client)
    complaint_id = await _complaint_id(office, (await _submit(office))["tracking_no"])
    # Accepted Thursday 10 Dec 2026: 30 working days reach into 2027.
    with clock.frozen_clock(datetime(2026, 12, 10, 2, 0, tzinfo=UTC)):
        accepted = await office.call(
            "POST", "supervisor", f"/api/v1/complaints/{complaint_id}/accept", {"handler_id": office.ids["handler"]}
        )
    assert accepted.json()["due_provisional"] is True
    # Weekends only: 11 Dec … 31 Dec (15 days), then 1–21 Jan 2027 (15 more).
    assert accepted.json()["due_date"] == "2027-01-21"
    # The data file loaded by the CLI (no principal): New Year 1 Jan and the week of 18 Jan as holidays.
    holidays = [date(2027, 1, 1), *(date(2027, 1, d) for d in range(18, 23))]
    notice = calendar.YearNotice(
        year=2027, notice_ref="国办发明电〔2026〕7号", holidays=holidays, makeup_workdays=[date(2027, 1, 16)]
    )
    loaded = await calendar_loading.load_year(principal=None, notice=notice)
    assert loaded.recomputed_complaints == 1
    known = {y["year"]: y for y in (await office.call("GET", "supervisor", "/api/v1/calendar/years")).json()}
    assert known[2026]["source"] == "package"
    assert "2026-02-14" in known[2026]["makeup_workdays"]
    assert known[2027]["source"] == "loaded"
    assert known[2027]["makeup_workdays"] == ["2027-01-16"]
    seen = (await office.call("GET", "supervisor", f"/api/v1/complaints/{complaint_id}")).json()
    # 2–15 Jan: 4–8, 11–15 (10) + Sat 16 (11 with the 15 of December: 26) …, 25–28 Jan (30).
    assert seen["due_provisional"] is False
    assert seen["due_date"] == "2027-01-28"
    recomputed = await LedgerRow.count().where(
        (LedgerRow.event == "complaint.due_recomputed") & (LedgerRow.subject_id == complaint_id)
    )
    assert recomputed == 1


@pytest.mark.requirement("R-CMP-2")
async def test_public_submissions_are_rate_limited_per_address(client: AsyncTestClient[Litestar]) -> None:
    office = await _agency(client)
    body = {"agency_id": office.id, "subject": "投诉", "content": "内容"}
    statuses = [(await office.call("POST", "public", "/public/v1/complaints", body)).status_code for _ in range(11)]
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429


@pytest.mark.requirement("R-CMP-2")
async def test_a_complaint_without_its_ledger_entries_is_reported(client: AsyncTestClient[Litestar]) -> None:
    office = await _agency(client)
    complaint_id = await _complaint_id(office, (await _submit(office))["tracking_no"])
    with clock.frozen_clock(ACCEPTED):
        await office.call(
            "POST", "supervisor", f"/api/v1/complaints/{complaint_id}/accept", {"handler_id": office.ids["handler"]}
        )
    assert (await audit.check_completeness()).ok
    # A complaint written around the service (no ledger entries) is found.
    stray = uuid.uuid4()
    await Complaint.insert(
        Complaint(
            id=stray,
            agency=office.id,
            tracking_no="TS-20260924-STRAY1",
            code_sha256="0" * 64,
            subject="s",
            content="c",
            received_at=ACCEPTED,
        )
    )
    report = await audit.check_completeness()
    assert not report.ok
    assert [(m.kind, m.id) for m in report.missing] == [("complaint", str(stray))]


@pytest.mark.requirement("R-CMP-2")
async def test_a_tracking_number_drawn_twice_is_drawn_again(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    office = await _agency(client)
    draws = iter(["AAAAAA", "AAAAAA", "BBBBBB"])
    monkeypatch.setattr(complaints, "_random", lambda length: next(draws) if length == 6 else "C" * length)
    first, second = await _submit(office), await _submit(office)
    assert first["tracking_no"].endswith("-AAAAAA")
    assert second["tracking_no"].endswith("-BBBBBB")
    assert await Complaint.count().where(Complaint.agency == office.id) == 2
